#include "ringlane/http/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <utility>
#include <vector>

#include "ringlane/base/unix_socket.h"

namespace ringlane::http {

namespace {

constexpr const char* kTimedOut = "no complete request within 5 s";
constexpr const char* kIncomplete = "incomplete request: the client stopped sending before its end";
// Connections waiting in the kernel for accept: enough for a burst of clients (a monitoring
// scrape and a few ringlane-ctl calls), which the loop then takes all at once.
constexpr int kBacklog = 64;
// What is read and dropped after an answer, so that closing does not reset the connection
// (and lose the answer) over unread request bytes; anything more is the client's problem.
constexpr size_t kMaxDrain = 65536;

// A TCP address as "IPv4:PORT", "[IPv6]:PORT" or ":PORT" (every address, IPv6 and IPv4).
struct TcpAddress {
  sockaddr_storage storage{};
  socklen_t size = 0;
  bool any = false;
};

Result<TcpAddress> parse_tcp_address(const std::string& addr_port) {
  auto bad = [&](const std::string& why) {
    return Error(EINVAL, "bad listen address '" + addr_port + "': " + why +
                             " (expected IPv4:PORT, [IPv6]:PORT or :PORT)");
  };
  size_t colon = addr_port.rfind(':');
  if (colon == std::string::npos) return bad("no port");
  std::string host = addr_port.substr(0, colon);
  std::string port_text = addr_port.substr(colon + 1);
  if (port_text.empty() || port_text.size() > 5) return bad("port not a number from 0 to 65535");
  unsigned port = 0;
  for (char c : port_text) {
    if (c < '0' || c > '9') return bad("port not a number from 0 to 65535");
    port = port * 10 + static_cast<unsigned>(c - '0');
  }
  if (port > 65535) return bad("port not a number from 0 to 65535");

  TcpAddress a;
  if (host.empty()) {
    a.any = true;
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_addr = in6addr_any;
    in6->sin6_port = htons(static_cast<uint16_t>(port));
    a.size = sizeof(sockaddr_in6);
    return a;
  }
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return bad("unbalanced brackets");
    std::string inner = host.substr(1, host.size() - 2);
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
    if (::inet_pton(AF_INET6, inner.c_str(), &in6->sin6_addr) != 1) {
      return bad("'" + inner + "' is not an IPv6 address");
    }
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(port));
    a.size = sizeof(sockaddr_in6);
    return a;
  }
  auto* in4 = reinterpret_cast<sockaddr_in*>(&a.storage);
  if (::inet_pton(AF_INET, host.c_str(), &in4->sin_addr) != 1) {
    return bad("'" + host + "' is not an IPv4 address");
  }
  in4->sin_family = AF_INET;
  in4->sin_port = htons(static_cast<uint16_t>(port));
  a.size = sizeof(sockaddr_in);
  return a;
}

// Every address means IPv6 and IPv4 on one socket; IPv4 alone where the kernel has no IPv6.
Result<UniqueFd> tcp_socket(TcpAddress& a) {
  UniqueFd fd(::socket(a.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd && a.any && errno == EAFNOSUPPORT) {
    uint16_t port = reinterpret_cast<sockaddr_in6*>(&a.storage)->sin6_port;
    a.storage = {};
    auto* in4 = reinterpret_cast<sockaddr_in*>(&a.storage);
    in4->sin_family = AF_INET;
    in4->sin_addr.s_addr = htonl(INADDR_ANY);
    in4->sin_port = port;
    a.size = sizeof(sockaddr_in);
    fd.reset(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  }
  if (!fd) return errno_error("socket");
  if (a.storage.ss_family == AF_INET6) {
    int v6only = a.any ? 0 : 1;
    ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
  }
  return fd;
}

}  // namespace

HttpServer::HttpServer(EventLoop& loop, UniqueFd listen, std::string path, uint16_t port,
                       Handler handler, Refuser refuser)
    : loop_(loop),
      listen_(std::move(listen)),
      path_(std::move(path)),
      port_(port),
      handler_(std::move(handler)),
      refuser_(std::move(refuser)) {}

Result<std::unique_ptr<HttpServer>> HttpServer::listen_unix(EventLoop& loop,
                                                            const std::string& path,
                                                            const UnixSocketAccess& access,
                                                            Handler handler, Refuser refuser) {
  // Refuses a socket another process serves (EADDRINUSE) and any file not a socket (EEXIST).
  RINGLANE_ASSIGN_OR_RETURN(UniqueFd fd, ::ringlane::listen_unix(path));
  // From here on the file is ours: the server removes it, on failure too.
  std::unique_ptr<HttpServer> server(
      new HttpServer(loop, std::move(fd), path, 0, std::move(handler), std::move(refuser)));
  if (::listen(server->listen_.get(), kBacklog) < 0) return errno_error("listen " + path);
  // After bind: the socket exists only now. Its mode before this is the umask's, which no
  // client can use yet as nobody has been told of the socket.
  if (::chmod(path.c_str(), access.mode) < 0) return errno_error("chmod " + path);
  if (access.owner || access.group) {
    uid_t owner = access.owner ? *access.owner : static_cast<uid_t>(-1);
    gid_t group = access.group ? *access.group : static_cast<gid_t>(-1);
    if (::chown(path.c_str(), owner, group) < 0) return errno_error("chown " + path);
  }
  RINGLANE_TRY(server->start());
  return server;
}

Result<std::unique_ptr<HttpServer>> HttpServer::listen_tcp(EventLoop& loop,
                                                           const std::string& addr_port,
                                                           Handler handler, Refuser refuser) {
  RINGLANE_ASSIGN_OR_RETURN(TcpAddress a, parse_tcp_address(addr_port));
  RINGLANE_ASSIGN_OR_RETURN(UniqueFd fd, tcp_socket(a));
  int one = 1;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) {
    return errno_error("SO_REUSEADDR on " + addr_port);
  }
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&a.storage), a.size) < 0) {
    return errno_error("cannot listen on " + addr_port + ": bind");
  }
  if (::listen(fd.get(), kBacklog) < 0) {
    return errno_error("cannot listen on " + addr_port + ": listen");
  }
  sockaddr_storage bound{};
  socklen_t size = sizeof(bound);
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &size) < 0) {
    return errno_error("getsockname " + addr_port);
  }
  uint16_t port = bound.ss_family == AF_INET6
                      ? ntohs(reinterpret_cast<const sockaddr_in6*>(&bound)->sin6_port)
                      : ntohs(reinterpret_cast<const sockaddr_in*>(&bound)->sin_port);
  std::unique_ptr<HttpServer> server(
      new HttpServer(loop, std::move(fd), "", port, std::move(handler), std::move(refuser)));
  RINGLANE_TRY(server->start());
  return server;
}

Status HttpServer::start() {
  return loop_.watch(listen_.get(), EPOLLIN, [this](uint32_t) { accept_all(); });
}

HttpServer::~HttpServer() {
  for (auto& [fd, c] : connections_) loop_.unwatch(fd);
  connections_.clear();
  loop_.unwatch(listen_.get());
  listen_.reset();
  if (!path_.empty()) ::unlink(path_.c_str());
}

void HttpServer::accept_all() {
  for (;;) {
    UniqueFd fd(::accept4(listen_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd) return;  // EAGAIN: all taken; anything else (EMFILE, ...) is retried next event
    // Over the limit: taken from the backlog and closed, so the client learns at once.
    if (connections_.size() >= kMaxConnections) continue;
    int raw = fd.get();
    auto c = std::make_unique<Connection>();
    c->fd = std::move(fd);
    c->accepted = Clock::now();
    if (!loop_.watch(raw, EPOLLIN, [this, raw](uint32_t) { on_readable(raw); }).ok()) continue;
    connections_.emplace(raw, std::move(c));
  }
}

// Reads what has arrived until the parser has a verdict. What a connection holds is bounded by
// the parser's limits: it refuses a head longer than 8 KiB before its end arrives, and a body
// longer than 64 KiB from its Content-Length.
void HttpServer::on_readable(int fd) {
  auto it = connections_.find(fd);
  if (it == connections_.end() || it->second->answering) return;
  Connection& c = *it->second;
  for (;;) {
    char buffer[4096];
    ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) close(fd);
      return;
    }
    if (n == 0) {
      // The client shut down its side; one that connected and sent nothing made no request.
      if (c.received.empty()) {
        close(fd);
      } else {
        answer(c, refuser_(400, kIncomplete));
      }
      return;
    }
    c.received.append(buffer, static_cast<size_t>(n));
    HttpParseResult parsed = parse_http_request(c.received);
    if (parsed.status == HttpParseStatus::incomplete) continue;
    if (parsed.status == HttpParseStatus::complete) {
      answer(c, handler_(parsed.request));
    } else {
      answer(c, refuser_(http_status(parsed.status), describe(parsed.status)));
    }
    return;
  }
}

void HttpServer::answer(Connection& c, const HttpAnswer& a) {
  c.answering = true;
  c.answer = format_response(a);
  c.received.clear();
  flush(c);
}

// Sends what the socket takes now; the rest waits for EPOLLOUT. Closes once all is sent.
void HttpServer::flush(Connection& c) {
  int fd = c.fd.get();
  size_t sent = 0;
  while (sent < c.answer.size()) {
    ssize_t n = ::send(fd, c.answer.data() + sent, c.answer.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n <= 0) {
      close(fd);  // the client went away
      return;
    }
    sent += static_cast<size_t>(n);
  }
  c.answer.erase(0, sent);
  if (!c.answer.empty()) {
    loop_.unwatch(fd);
    if (!loop_.watch(fd, EPOLLOUT, [this, fd](uint32_t) { on_writable(fd); }).ok()) close(fd);
    return;
  }
  // Request bytes the parser did not need (a refused request's rest) would make close() reset
  // the connection, and a reset may discard the answer before the client reads it.
  ::shutdown(fd, SHUT_WR);
  char sink[4096];
  for (size_t drained = 0; drained < kMaxDrain;) {
    ssize_t n = ::recv(fd, sink, sizeof(sink), 0);
    if (n <= 0) break;
    drained += static_cast<size_t>(n);
  }
  close(fd);
}

void HttpServer::on_writable(int fd) {
  auto it = connections_.find(fd);
  if (it == connections_.end() || !it->second->answering) return;
  flush(*it->second);
}

void HttpServer::close(int fd) {
  loop_.unwatch(fd);
  connections_.erase(fd);
}

void HttpServer::tick(Clock::time_point now) {
  std::vector<int> late;
  for (const auto& [fd, c] : connections_) {
    auto budget = c->answering ? 2 * kRequestBudget : kRequestBudget;
    if (now - c->accepted >= budget) late.push_back(fd);
  }
  for (int fd : late) {
    Connection& c = *connections_.at(fd);
    if (c.answering || c.received.empty()) {
      close(fd);
    } else {
      answer(c, refuser_(408, kTimedOut));
    }
  }
}

}  // namespace ringlane::http
