#include "ringlane/http/http_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <thread>

#include "ringlane/base/unique_fd.h"

namespace ringlane::http {

namespace {

using Clock = std::chrono::steady_clock;

std::string where(const std::string& socket_path) {
  return "API at " + socket_path;
}

Error timed_out(const std::string& socket_path, std::chrono::milliseconds timeout) {
  char seconds[32];
  std::snprintf(seconds, sizeof(seconds), "%g", static_cast<double>(timeout.count()) / 1000.0);
  return Error(ETIMEDOUT, "no answer from " + where(socket_path) + " within " + seconds + " s");
}

// Milliseconds left until `deadline` for poll(), at least 0.
int left_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// Waits for `events` on `fd` until the deadline; false when it passed first.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int ms = left_ms(deadline);
    int n = ::poll(&p, 1, ms);
    if (n > 0) return true;
    if (n == 0 || (n < 0 && errno != EINTR)) return false;
  }
}

Result<UniqueFd> connect_api(const std::string& socket_path, Clock::time_point deadline) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.empty() || socket_path.size() >= sizeof(addr.sun_path)) {
    return Error(ENAMETOOLONG, "cannot connect to " + where(socket_path) +
                                   " (a socket path must be 1-107 bytes)");
  }
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return errno_error("socket");
  for (;;) {
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0) {
      return fd;
    }
    int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN && Clock::now() < deadline) {
      // The listener's backlog is full (it serves one request at a time): try again shortly.
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    if (err == EINPROGRESS) {
      if (!wait_for(fd.get(), POLLOUT, deadline)) break;
      int so_error = 0;
      socklen_t len = sizeof(so_error);
      ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &so_error, &len);
      if (so_error == 0) return fd;
      err = so_error;
    }
    if (err == EAGAIN) break;
    return Error(err, "cannot connect to " + where(socket_path));
  }
  return Error(ETIMEDOUT, "cannot connect to " + where(socket_path) + " in time");
}

bool starts_with_ignoring_case(std::string_view line, std::string_view prefix) {
  if (line.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = line[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

Error bad_answer(const std::string& why) {
  return Error(EPROTO, "not an HTTP answer: " + why);
}

}  // namespace

Result<ApiResponse> parse_api_response(std::string_view data) {
  if (data.empty()) return bad_answer("the connection closed without one");
  size_t head_end = data.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return bad_answer("no end of headers");
  std::string_view head = data.substr(0, head_end + 2);  // every line ends in CRLF
  size_t line_end = head.find("\r\n");
  std::string_view status_line = head.substr(0, line_end);
  // "HTTP/1.x SSS reason"
  if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1." || status_line[7] < '0' ||
      status_line[7] > '9' || status_line[8] != ' ' ||
      (status_line.size() > 12 && status_line[12] != ' ')) {
    return bad_answer("status line '" + std::string(status_line.substr(0, 40)) + "'");
  }
  int status = 0;
  for (size_t i = 9; i < 12; ++i) {
    char c = status_line[i];
    if (c < '0' || c > '9') return bad_answer("status code");
    status = status * 10 + (c - '0');
  }
  if (status < 100) return bad_answer("status code");

  std::string_view body = data.substr(head_end + 4);
  bool have_length = false;
  size_t length = 0;
  for (size_t at = line_end + 2; at < head.size();) {
    size_t end = head.find("\r\n", at);
    std::string_view line = head.substr(at, end - at);
    at = end + 2;
    if (!starts_with_ignoring_case(line, "content-length:")) continue;
    std::string_view value = line.substr(15);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (value.empty() || have_length) return bad_answer("Content-Length");
    for (char c : value) {
      if (c < '0' || c > '9') return bad_answer("Content-Length");
      length = length * 10 + static_cast<size_t>(c - '0');
      if (length > kMaxApiResponse) return bad_answer("Content-Length");
    }
    have_length = true;
  }
  if (have_length) {
    if (body.size() < length) return bad_answer("cut short");
    body = body.substr(0, length);
  }
  return ApiResponse{status, std::string(body)};
}

Result<ApiResponse> api_request(const std::string& socket_path, std::string_view method,
                                std::string_view path, std::string_view body,
                                std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  RINGLANE_ASSIGN_OR_RETURN(const UniqueFd connected, connect_api(socket_path, deadline));
  int fd = connected.get();

  std::string request = std::string(method) + " " + std::string(path) +
                        " HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n";
  if (!body.empty()) request += "Content-Type: application/json\r\n";
  request += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  request += body;
  for (size_t sent = 0; sent < request.size();) {
    if (!wait_for(fd, POLLOUT, deadline)) return timed_out(socket_path, timeout);
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) {
      // The server may have answered (and closed) before taking everything: read its answer.
      if (errno == EPIPE || errno == ECONNRESET) break;
      return Error(errno, "sending to " + where(socket_path));
    }
    sent += static_cast<size_t>(n);
  }

  std::string answer;
  for (;;) {
    if (!wait_for(fd, POLLIN, deadline)) return timed_out(socket_path, timeout);
    char buffer[16384];
    ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) {
      if (errno == ECONNRESET && !answer.empty()) break;
      return Error(errno, "receiving from " + where(socket_path));
    }
    if (n == 0) break;
    answer.append(buffer, static_cast<size_t>(n));
    if (answer.size() > kMaxApiResponse + 8192) {
      return Error(EPROTO, where(socket_path) + " answered with more than 1 MiB");
    }
  }
  Result<ApiResponse> response = parse_api_response(answer);
  if (!response.ok()) {
    return Error(EPROTO, where(socket_path) + " gave " + response.error().message());
  }
  return response;
}

}  // namespace ringlane::http
