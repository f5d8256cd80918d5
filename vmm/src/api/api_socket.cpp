#include "ringlane/vmm/api/api_socket.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>

#include "ringlane/base/unix_socket.h"
#include "ringlane/vmm/api/http_request.h"

namespace ringlane::vmm {

namespace {

constexpr auto kRequestBudget = std::chrono::seconds(5);
constexpr const char* kTimedOut = "no complete request within 5 s";
constexpr const char* kIncomplete = "incomplete request: the client stopped sending before its end";

const char* reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Payload Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Error";
  }
}

void send_all(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<size_t>(n);
  }
}

void send_answer(int fd, const ApiAnswer& a) {
  send_all(fd, "HTTP/1.1 " + std::to_string(a.status) + " " + reason(a.status) +
                   "\r\nContent-Type: application/json\r\nContent-Length: " +
                   std::to_string(a.body.size()) + "\r\nConnection: close\r\n\r\n" + a.body);
}

}  // namespace

Result<std::unique_ptr<ApiSocket>> ApiSocket::start(const std::string& path, VmApi& api) {
  Result<UniqueFd> listen = listen_unix(path);
  if (!listen.ok()) return listen.error();
  ::chmod(path.c_str(), 0600);
  Result<EventFd> stop = EventFd::create();
  if (!stop.ok()) return stop.error();
  std::unique_ptr<ApiSocket> s(new ApiSocket(path, std::move(*listen), std::move(*stop), api));
  s->thread_ = std::thread([raw = s.get()] { raw->serve(); });
  return s;
}

ApiSocket::~ApiSocket() {
  (void)stop_.signal();
  if (thread_.joinable()) thread_.join();
  ::unlink(path_.c_str());
}

void ApiSocket::serve() {
  for (;;) {
    pollfd fds[2] = {{listen_.get(), POLLIN, 0}, {stop_.fd(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents != 0) return;
    Result<UniqueFd> conn = accept_unix(listen_.get());
    if (conn.ok()) handle(conn->get());
  }
}

// Reads until parse_http_request has a verdict, the client stops sending, or the budget runs
// out. Whatever is received is bounded by the parser's limits: it refuses a head longer than
// 8 KiB before its end arrives, and a body longer than 64 KiB from its Content-Length.
void ApiSocket::handle(int fd) {
  auto deadline = std::chrono::steady_clock::now() + kRequestBudget;
  std::string data;
  HttpParseResult parsed;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      if (!data.empty()) send_answer(fd, api_.refuse(408, kTimedOut));
      return;
    }
    char buffer[4096];
    ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n < 0) return;
    if (n == 0) {
      // The client shut down its side; one that connected and sent nothing made no request.
      if (!data.empty()) send_answer(fd, api_.refuse(400, kIncomplete));
      return;
    }
    data.append(buffer, static_cast<size_t>(n));
    parsed = parse_http_request(data);
    if (parsed.status != HttpParseStatus::incomplete) break;
  }
  if (parsed.status != HttpParseStatus::complete) {
    send_answer(fd, api_.refuse(http_status(parsed.status), describe(parsed.status)));
    return;
  }
  const HttpRequest& r = parsed.request;
  send_answer(fd, api_.handle(r.method, r.target, r.body));
}

}  // namespace ringlane::vmm
