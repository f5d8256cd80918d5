#include "ringlane/vmm/api_socket.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>

#include "ringlane/vhost_user/unix_socket.h"

namespace ringlane::vmm {

namespace {

constexpr size_t kMaxHeader = 8192;
constexpr size_t kMaxBody = 65536;
constexpr auto kRequestBudget = std::chrono::seconds(5);

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
    case 413:
      return "Payload Too Large";
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

ApiAnswer fault(int status, const std::string& message) {
  return {status, "{\"fault_message\": \"" + message + "\"}"};
}

}  // namespace

Result<std::unique_ptr<ApiSocket>> ApiSocket::start(const std::string& path, const VmApi& api) {
  Result<UniqueFd> listen = vhost_user::listen_unix(path);
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
    Result<UniqueFd> conn = vhost_user::accept_unix(listen_.get());
    if (conn.ok()) handle(conn->get());
  }
}

void ApiSocket::handle(int fd) {
  requests_.fetch_add(1, std::memory_order_relaxed);
  auto deadline = std::chrono::steady_clock::now() + kRequestBudget;
  std::string data;
  size_t header_end = std::string::npos;
  size_t body_length = 0;
  for (;;) {
    if (header_end == std::string::npos) {
      header_end = data.find("\r\n\r\n");
      if (header_end != std::string::npos) {
        // Content-Length, if any (header names are case-insensitive).
        std::string head = data.substr(0, header_end);
        for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        size_t at = head.find("\r\ncontent-length:");
        if (at != std::string::npos) {
          body_length = std::strtoull(head.c_str() + at + 17, nullptr, 10);
        }
        if (body_length > kMaxBody) {
          bad_requests_.fetch_add(1, std::memory_order_relaxed);
          ApiAnswer a = fault(413, "request body larger than 64 KiB");
          send_all(fd,
                   "HTTP/1.1 413 Payload Too Large\r\nContent-Type: application/json\r\n"
                   "Content-Length: " +
                       std::to_string(a.body.size()) + "\r\nConnection: close\r\n\r\n" + a.body);
          return;
        }
      } else if (data.size() > kMaxHeader) {
        bad_requests_.fetch_add(1, std::memory_order_relaxed);
        return;
      }
    }
    if (header_end != std::string::npos && data.size() >= header_end + 4 + body_length) break;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return;
    char buffer[4096];
    ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) return;
    data.append(buffer, static_cast<size_t>(n));
  }
  size_t line_end = data.find("\r\n");
  std::string line = data.substr(0, line_end);
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string::npos ? std::string::npos : line.find(' ', sp1 + 1);
  ApiAnswer a;
  if (sp2 == std::string::npos || line.compare(sp2 + 1, 7, "HTTP/1.") != 0) {
    bad_requests_.fetch_add(1, std::memory_order_relaxed);
    a = fault(400, "malformed request line");
  } else {
    a = route(line.substr(0, sp1), line.substr(sp1 + 1, sp2 - sp1 - 1),
              data.substr(header_end + 4, body_length));
  }
  send_all(fd, "HTTP/1.1 " + std::to_string(a.status) + " " + reason(a.status) +
                   "\r\nContent-Type: application/json\r\nContent-Length: " +
                   std::to_string(a.body.size()) + "\r\nConnection: close\r\n\r\n" + a.body);
}

ApiAnswer ApiSocket::route(const std::string& method, const std::string& path,
                           const std::string& body) {
  const std::string nics = "/vm/nics";
  if (path == "/vm") return method == "GET" ? api_.get_vm() : fault(405, "GET only");
  if (path == nics) return method == "GET" ? api_.get_nics() : fault(405, "GET only");
  if (path.rfind(nics + "/", 0) == 0 && path.size() > nics.size() + 1) {
    if (method != "PUT") return fault(405, "PUT only");
    return api_.put_nic(path.substr(nics.size() + 1), body);
  }
  return fault(404, "no resource " + path);
}

}  // namespace ringlane::vmm
