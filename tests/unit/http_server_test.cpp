#include "ringlane/http/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "ringlane/base/unique_fd.h"
#include "ringlane/http/http_client.h"

namespace ringlane::http {
namespace {

using namespace std::chrono_literals;

struct Refusal {
  int status;
  std::string message;
};

// A server on a loop this thread pumps, and clients on blocking-free sockets beside it.
class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/http_server_test.XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop.ok()) << loop.error().to_string();
    loop_ = std::move(*loop);
  }
  void TearDown() override {
    server_.reset();
    loop_.reset();
    ::rmdir(dir_.c_str());
  }

  HttpServer::Handler handler() {
    return [this](const HttpRequest& r) {
      requests_.push_back(std::string(r.method) + " " + std::string(r.target) + " " +
                          std::string(r.body));
      if (!big_answer_.empty()) return HttpAnswer{200, big_answer_};
      return HttpAnswer{200, "{\"method\":\"" + std::string(r.method) + "\"}"};
    };
  }
  HttpServer::Refuser refuser() {
    return [this](int status, std::string_view message) {
      refusals_.push_back({status, std::string(message)});
      return HttpAnswer{status, "{\"error\":\"" + std::string(message) + "\"}"};
    };
  }

  void listen_unix(const UnixSocketAccess& access = {}) {
    auto s = HttpServer::listen_unix(*loop_, sock(), access, handler(), refuser());
    ASSERT_TRUE(s.ok()) << s.error().to_string();
    server_ = std::move(*s);
  }
  void listen_tcp() {
    auto s = HttpServer::listen_tcp(*loop_, "127.0.0.1:0", handler(), refuser());
    ASSERT_TRUE(s.ok()) << s.error().to_string();
    server_ = std::move(*s);
    ASSERT_NE(server_->local_port(), 0);
  }

  std::string sock() const { return dir_ + "/api.sock"; }

  UniqueFd connect_unix_client() const {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, sock().c_str(), sizeof(addr.sun_path) - 1);
    EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0)
        << std::strerror(errno);
    return fd;
  }
  UniqueFd connect_tcp_client() const {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(server_->local_port());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0)
        << std::strerror(errno);
    ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) | O_NONBLOCK);
    return fd;
  }

  static void send_text(int fd, std::string_view text) {
    ASSERT_EQ(::send(fd, text.data(), text.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(text.size()));
  }

  void pump(int rounds = 5) {
    for (int i = 0; i < rounds; ++i) ASSERT_TRUE(loop_->run_once(1).ok());
  }

  // Everything the server sends until it closes, pumping the loop meanwhile. `closed` is false
  // when the server kept the connection open for the whole wait.
  std::string read_all(int fd, bool* closed = nullptr, std::chrono::milliseconds wait = 2s) {
    std::string out;
    auto until = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < until) {
      EXPECT_TRUE(loop_->run_once(1).ok());
      char buffer[65536];
      ssize_t n = ::recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno == ECONNRESET)) {
        if (closed != nullptr) *closed = true;
        return out;
      }
      if (n > 0) out.append(buffer, static_cast<size_t>(n));
    }
    if (closed != nullptr) *closed = false;
    return out;
  }

  ApiResponse answer_of(int fd) {
    bool closed = false;
    std::string text = read_all(fd, &closed);
    EXPECT_TRUE(closed) << "the server did not close after its answer";
    Result<ApiResponse> r = parse_api_response(text);
    EXPECT_TRUE(r.ok()) << r.error().message() << " in '" << text.substr(0, 200) << "'";
    return r.ok() ? *r : ApiResponse{};
  }

  std::string dir_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<HttpServer> server_;
  std::vector<std::string> requests_;
  std::vector<Refusal> refusals_;
  std::string big_answer_;
};

TEST_F(HttpServerTest, UnixSocketWithModeAnswersAndIsRemoved) {
  listen_unix({0660, std::nullopt, std::nullopt});
  EXPECT_EQ(server_->path(), sock());
  EXPECT_EQ(server_->local_port(), 0);
  struct stat st {};
  ASSERT_EQ(::stat(sock().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0660u);

  UniqueFd c = connect_unix_client();
  send_text(c.get(), "GET /status HTTP/1.1\r\nHost: x\r\n\r\n");
  ApiResponse r = answer_of(c.get());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"method":"GET"})");
  EXPECT_EQ(requests_, std::vector<std::string>{"GET /status "});
  EXPECT_EQ(server_->connections(), 0u);

  server_.reset();
  EXPECT_NE(::lstat(sock().c_str(), &st), 0);
}

TEST_F(HttpServerTest, DefaultModeIsOwnerOnlyAndOwnerGroupAreSet) {
  listen_unix({0600, ::getuid(), ::getgid()});
  struct stat st {};
  ASSERT_EQ(::stat(sock().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_uid, ::getuid());
  EXPECT_EQ(st.st_gid, ::getgid());
}

TEST_F(HttpServerTest, ALiveSocketIsInUseAStaleOneIsReplaced) {
  listen_unix();
  auto second = HttpServer::listen_unix(*loop_, sock(), {}, handler(), refuser());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code(), EADDRINUSE);
  EXPECT_NE(second.error().message().find(sock()), std::string::npos);
  EXPECT_NE(second.error().message().find("in use"), std::string::npos);
  // The refused attempt left the first server's socket alone.
  UniqueFd c = connect_unix_client();
  send_text(c.get(), "GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(answer_of(c.get()).status, 200);
  server_.reset();

  // A socket file nobody listens on.
  {
    UniqueFd stale(::socket(AF_UNIX, SOCK_STREAM, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, sock().c_str(), sizeof(addr.sun_path) - 1);
    ASSERT_EQ(::bind(stale.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  }
  listen_unix();
  server_.reset();

  // Never a file of another kind.
  UniqueFd file(::open(sock().c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
  auto over_file = HttpServer::listen_unix(*loop_, sock(), {}, handler(), refuser());
  ASSERT_FALSE(over_file.ok());
  EXPECT_EQ(over_file.error().code(), EEXIST);
  ::unlink(sock().c_str());
}

TEST_F(HttpServerTest, TcpOnAPickedPort) {
  listen_tcp();
  EXPECT_EQ(server_->path(), "");
  UniqueFd c = connect_tcp_client();
  send_text(c.get(), "DELETE /fdb?port=vm0 HTTP/1.1\r\n\r\n");
  ApiResponse r = answer_of(c.get());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"method":"DELETE"})");
  EXPECT_EQ(requests_, std::vector<std::string>{"DELETE /fdb?port=vm0 "});
}

TEST_F(HttpServerTest, TcpAddressErrorsNameTheAddress) {
  for (const char* bad : {"nope", "1.2.3:80", "[::1:80", "127.0.0.1:65536",
                          "127.0.0.1:", "localhost:80", "[nope]:80", "127.0.0.1:8x"}) {
    auto s = HttpServer::listen_tcp(*loop_, bad, handler(), refuser());
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.error().code(), EINVAL) << bad;
    EXPECT_NE(s.error().message().find(bad), std::string::npos) << s.error().message();
  }
  listen_tcp();
  std::string taken = "127.0.0.1:" + std::to_string(server_->local_port());
  auto again = HttpServer::listen_tcp(*loop_, taken, handler(), refuser());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), EADDRINUSE);
  EXPECT_NE(again.error().message().find(taken), std::string::npos);
}

TEST_F(HttpServerTest, TcpOnEveryAddressAndOnIpv6Loopback) {
  auto any = HttpServer::listen_tcp(*loop_, ":0", handler(), refuser());
  ASSERT_TRUE(any.ok()) << any.error().to_string();
  server_ = std::move(*any);
  UniqueFd c = connect_tcp_client();  // IPv4 loopback reaches the every-address socket
  send_text(c.get(), "GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(answer_of(c.get()).status, 200);
  server_.reset();
  // Where the kernel has IPv6.
  UniqueFd probe(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (probe) {
    auto v6 = HttpServer::listen_tcp(*loop_, "[::1]:0", handler(), refuser());
    ASSERT_TRUE(v6.ok()) << v6.error().to_string();
    EXPECT_NE((*v6)->local_port(), 0);
  }
}

TEST_F(HttpServerTest, ARequestSplitOverSeveralWrites) {
  listen_unix();
  UniqueFd c = connect_unix_client();
  send_text(c.get(), "POST /por");
  pump();
  send_text(c.get(), "ts HTTP/1.1\r\nContent-Le");
  pump();
  send_text(c.get(), "ngth: 10\r\n\r\n{\"name\":");
  pump();
  EXPECT_TRUE(requests_.empty());
  EXPECT_EQ(server_->connections(), 1u);
  send_text(c.get(), "1}");
  ApiResponse r = answer_of(c.get());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(requests_, std::vector<std::string>{"POST /ports {\"name\":1}"});
  EXPECT_TRUE(refusals_.empty());
}

TEST_F(HttpServerTest, MalformedRequestsAreRefused) {
  listen_unix();
  UniqueFd c = connect_unix_client();
  send_text(c.get(), "GET /x HTTP/1.1\r\nHost: a\nB: c\r\n\r\n");
  ApiResponse r = answer_of(c.get());
  EXPECT_EQ(r.status, 400);
  ASSERT_EQ(refusals_.size(), 1u);
  EXPECT_EQ(refusals_[0].status, 400);
  EXPECT_EQ(refusals_[0].message, describe(HttpParseStatus::malformed_header));

  UniqueFd d = connect_unix_client();
  send_text(d.get(), "PATCH /x HTTP/1.1\r\n\r\n");
  EXPECT_EQ(answer_of(d.get()).status, 405);
  UniqueFd e = connect_unix_client();
  send_text(e.get(), "PUT /x HTTP/1.1\r\nContent-Length: 70000\r\n\r\n" + std::string(1000, 'x'));
  EXPECT_EQ(answer_of(e.get()).status, 413);
  EXPECT_TRUE(requests_.empty());
  EXPECT_EQ(refusals_.size(), 3u);
}

TEST_F(HttpServerTest, AClientThatStopsMidRequestGets400AndASilentOneNothing) {
  listen_unix();
  UniqueFd c = connect_unix_client();
  send_text(c.get(), "PUT /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nab");
  ::shutdown(c.get(), SHUT_WR);
  EXPECT_EQ(answer_of(c.get()).status, 400);
  ASSERT_EQ(refusals_.size(), 1u);
  EXPECT_NE(refusals_[0].message.find("incomplete"), std::string::npos);

  UniqueFd silent = connect_unix_client();
  ::shutdown(silent.get(), SHUT_WR);
  bool closed = false;
  EXPECT_EQ(read_all(silent.get(), &closed), "");
  EXPECT_TRUE(closed);
  EXPECT_EQ(refusals_.size(), 1u);
  EXPECT_EQ(server_->connections(), 0u);
}

TEST_F(HttpServerTest, SlowClientsGet408SilentOnesAreClosed) {
  listen_unix();
  UniqueFd slow = connect_unix_client();
  UniqueFd silent = connect_unix_client();
  send_text(slow.get(), "GET /x HTTP/1.1\r\n");
  pump();
  ASSERT_EQ(server_->connections(), 2u);
  server_->tick(HttpServer::Clock::now() + 1s);
  EXPECT_EQ(server_->connections(), 2u);
  server_->tick(HttpServer::Clock::now() + HttpServer::kRequestBudget + 10ms);
  ApiResponse r = answer_of(slow.get());
  EXPECT_EQ(r.status, 408);
  ASSERT_EQ(refusals_.size(), 1u);
  EXPECT_EQ(refusals_[0].status, 408);
  bool closed = false;
  EXPECT_EQ(read_all(silent.get(), &closed), "");
  EXPECT_TRUE(closed);
  EXPECT_EQ(server_->connections(), 0u);
}

TEST_F(HttpServerTest, AtMost64ConnectionsAtOnce) {
  listen_unix();
  std::vector<UniqueFd> clients;
  // The kernel's backlog holds what the loop has not accepted yet.
  for (int i = 0; i < 70; ++i) {
    clients.push_back(connect_unix_client());
    if (i % 8 == 7) pump(1);
  }
  pump();
  EXPECT_EQ(server_->connections(), HttpServer::kMaxConnections);
  // The first 64 are served; the rest were closed at once.
  for (size_t i = HttpServer::kMaxConnections; i < clients.size(); ++i) {
    bool closed = false;
    EXPECT_EQ(read_all(clients[i].get(), &closed, 200ms), "");
    EXPECT_TRUE(closed) << i;
  }
  for (size_t i = 0; i < HttpServer::kMaxConnections; ++i) {
    send_text(clients[i].get(), "GET /n HTTP/1.1\r\n\r\n");
  }
  for (size_t i = 0; i < HttpServer::kMaxConnections; ++i) {
    EXPECT_EQ(answer_of(clients[i].get()).status, 200) << i;
  }
  EXPECT_EQ(requests_.size(), HttpServer::kMaxConnections);
  EXPECT_EQ(server_->connections(), 0u);
  // Room again.
  UniqueFd c = connect_unix_client();
  send_text(c.get(), "GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(answer_of(c.get()).status, 200);
}

TEST_F(HttpServerTest, AnAnswerLargerThanTheSocketBufferIsSentWhenTheClientReads) {
  big_answer_.assign(900 << 10, 'x');  // above a socket buffer, below kMaxApiResponse
  listen_unix();
  UniqueFd c = connect_unix_client();
  send_text(c.get(), "GET /metrics HTTP/1.1\r\n\r\n");
  pump();
  EXPECT_EQ(server_->connections(), 1u);  // still sending
  ApiResponse r = answer_of(c.get());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.size(), big_answer_.size());
  EXPECT_EQ(server_->connections(), 0u);
}

TEST_F(HttpServerTest, TheDestructorClosesOpenConnections) {
  listen_unix();
  UniqueFd c = connect_unix_client();
  send_text(c.get(), "GET /x HTTP/1.1\r\n");
  pump();
  EXPECT_EQ(server_->connections(), 1u);
  server_.reset();
  char byte = 0;
  EXPECT_EQ(::recv(c.get(), &byte, 1, MSG_DONTWAIT), 0);
}

TEST_F(HttpServerTest, TheClientTalksToTheServer) {
  listen_unix();
  // api_request blocks: it runs on a thread while this one pumps the loop.
  Result<ApiResponse> answer = Error(0, "");
  std::thread client(
      [&] { answer = api_request(sock(), "POST", "/ports", R"({"name":"vm0"})", 2000ms); });
  auto until = std::chrono::steady_clock::now() + 3s;
  while (requests_.empty() && std::chrono::steady_clock::now() < until) pump(1);
  pump(20);
  client.join();
  ASSERT_TRUE(answer.ok()) << answer.error().to_string();
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->body, R"({"method":"POST"})");
  EXPECT_EQ(requests_, std::vector<std::string>{"POST /ports {\"name\":\"vm0\"}"});
}

}  // namespace
}  // namespace ringlane::http
