// MessageChannel: one connected vhost-user socket, with message I/O that carries fds.
#pragma once

#include <optional>

#include "ringlane/base/result.h"
#include "ringlane/base/unique_fd.h"
#include "ringlane/vhost_user/message.h"

namespace ringlane::vhost_user {

// MessageChannel: one connected socket. Reads never block the control thread: a message that
// arrives in pieces is assembled across calls.
class MessageChannel {
 public:
  explicit MessageChannel(UniqueFd fd) : fd_(std::move(fd)) {}
  int fd() const { return fd_.get(); }

  // A complete message, std::nullopt when more bytes are needed, or an error (peer closed,
  // oversized payload, too many fds) after which the connection must be dropped.
  Result<std::optional<Message>> receive();
  // Sends a reply (header flags get the reply bit and version), with fds when it carries some.
  Status reply(const Message& request, const void* payload, uint32_t size, const int* fds = nullptr,
               size_t fd_count = 0);
  // Sends a request of the backend's own, on the backend request channel.
  Status send(BackendRequest request, const void* payload, uint32_t size) {
    return send_code(static_cast<uint32_t>(request), 0, payload, size, nullptr, 0);
  }
  // Sends a request and, optionally, waits for its reply: the frontend side (tests, VMM).
  Status send(Request request, uint32_t flags, const void* payload, uint32_t size,
              const int* fds = nullptr, size_t fd_count = 0) {
    return send_code(static_cast<uint32_t>(request), flags, payload, size, fds, fd_count);
  }

 private:
  Status send_code(uint32_t code, uint32_t flags, const void* payload, uint32_t size,
                   const int* fds, size_t fd_count);
  UniqueFd fd_;
  Message partial_;
  uint32_t have_ = 0;
};

}  // namespace ringlane::vhost_user
