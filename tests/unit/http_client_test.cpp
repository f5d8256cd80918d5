#include "ringlane/http/http_client.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <thread>

#include "ringlane/base/unique_fd.h"

namespace ringlane::http {
namespace {

using namespace std::chrono_literals;

TEST(ApiResponseTest, StatusAndBody) {
  Result<ApiResponse> r = parse_api_response(
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "{}");
}

TEST(ApiResponseTest, BodyIsContentLengthBytesOrTheRest) {
  Result<ApiResponse> r =
      parse_api_response("HTTP/1.1 404 Not Found\r\ncontent-length: 3\r\n\r\nabcdef");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, "abc");
  r = parse_api_response("HTTP/1.0 500\r\n\r\nrest of it");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body, "rest of it");
}

TEST(ApiResponseTest, NotHttp) {
  for (const char* text :
       {"", "hello", "HTTP/1.1 200 OK\r\n", "HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n",
        "HTTP/1.1 200OK\r\n\r\n", "HTTP/1.1 099 x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc",
        "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx"}) {
    Result<ApiResponse> r = parse_api_response(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().code(), EPROTO);
  }
}

class ApiClientTest : public ::testing::Test {
 protected:
  ApiClientTest() {
    char dir[] = "/tmp/rl-ctl-test-XXXXXX";
    dir_ = mkdtemp(dir);
    path_ = dir_ + "/api.sock";
  }
  ~ApiClientTest() override {
    if (server_.joinable()) server_.join();
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  UniqueFd listen() {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path_.c_str(), path_.size());
    EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::listen(fd.get(), 4), 0);
    return fd;
  }
  std::string dir_, path_;
  std::thread server_;
};

TEST_F(ApiClientTest, MissingSocket) {
  Result<ApiResponse> r = api_request(path_, "GET", "/vm", "", 1000ms);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ENOENT);
  EXPECT_EQ(r.error().message(), "cannot connect to API at " + path_);
}

TEST_F(ApiClientTest, NobodyListening) {
  { UniqueFd gone = listen(); }  // the socket file stays, the listener is gone
  Result<ApiResponse> r = api_request(path_, "GET", "/vm", "", 1000ms);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ECONNREFUSED);
}

TEST_F(ApiClientTest, PathTooLong) {
  Result<ApiResponse> r = api_request("/tmp/" + std::string(200, 'x'), "GET", "/vm", "", 1000ms);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ENAMETOOLONG);
}

TEST_F(ApiClientTest, SilentServerTimesOut) {
  UniqueFd l = listen();  // accepted by the kernel, never answered
  auto start = std::chrono::steady_clock::now();
  Result<ApiResponse> r = api_request(path_, "GET", "/vm", "", 200ms);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ETIMEDOUT);
  EXPECT_NE(r.error().message().find("within 0.2 s"), std::string::npos) << r.error().message();
  EXPECT_GE(took, 190ms);
  EXPECT_LT(took, 2s);
}

TEST_F(ApiClientTest, SendsTheRequestAndReadsTheAnswer) {
  UniqueFd l = listen();
  std::string received;
  server_ = std::thread([&] {
    UniqueFd c(::accept(l.get(), nullptr, nullptr));
    char buffer[4096];
    // Read until the body (the request's last part) is in.
    while (received.find("vhost\"}") == std::string::npos) {
      ssize_t n = ::recv(c.get(), buffer, sizeof(buffer), 0);
      if (n <= 0) break;
      received.append(buffer, static_cast<size_t>(n));
    }
    std::string answer =
        "HTTP/1.1 400 Bad Request\r\nContent-Length: 25\r\n\r\n"
        "{\"fault_message\": \"no\"}\r\n";
    (void)::send(c.get(), answer.data(), answer.size(), MSG_NOSIGNAL);
  });
  Result<ApiResponse> r =
      api_request(path_, "PUT", "/vm/nics/net0", "{\"mode\":\"vhost\"}", 2000ms);
  server_.join();
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body, "{\"fault_message\": \"no\"}\r\n");
  EXPECT_EQ(received.rfind("PUT /vm/nics/net0 HTTP/1.1\r\n", 0), 0u) << received;
  EXPECT_NE(received.find("\r\nContent-Length: 16\r\n"), std::string::npos) << received;
  EXPECT_NE(received.find("\r\n\r\n{\"mode\":\"vhost\"}"), std::string::npos) << received;
}

TEST_F(ApiClientTest, AnswerThatIsNotHttp) {
  UniqueFd l = listen();
  server_ = std::thread([&] {
    UniqueFd c(::accept(l.get(), nullptr, nullptr));
    (void)::send(c.get(), "SSH-2.0-OpenSSH\r\n", 17, MSG_NOSIGNAL);
  });
  Result<ApiResponse> r = api_request(path_, "GET", "/vm", "", 2000ms);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), EPROTO);
  EXPECT_NE(r.error().message().find("not an HTTP answer"), std::string::npos);
}

}  // namespace
}  // namespace ringlane::http
