#include "ringlane/vhost_user/message_channel.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace ringlane::vhost_user {

Result<std::optional<Message>> MessageChannel::receive() {
  for (;;) {
    uint32_t want =
        have_ < sizeof(MessageHeader)
            ? static_cast<uint32_t>(sizeof(MessageHeader)) - have_
            : static_cast<uint32_t>(sizeof(MessageHeader)) + partial_.header.size - have_;
    if (want == 0) break;
    uint8_t* dst = have_ < sizeof(MessageHeader)
                       ? reinterpret_cast<uint8_t*>(&partial_.header) + have_
                       : partial_.payload + (have_ - sizeof(MessageHeader));
    iovec iov{dst, want};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerMessage)];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n = ::recvmsg(fd_.get(), &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return std::optional<Message>();
      return errno_error("recvmsg");
    }
    // Take ownership of every fd first, so none leaks whatever happens next.
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int received;
        std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        partial_.fds.emplace_back(received);
      }
    }
    if (n == 0) return Error(ECONNRESET, "frontend closed the connection");
    if (msg.msg_flags & MSG_CTRUNC) return Error(EBADMSG, "too many file descriptors in a message");
    if (partial_.fds.size() > kMaxFdsPerMessage) return Error(EBADMSG, "too many file descriptors");
    have_ += static_cast<uint32_t>(n);
    if (have_ == sizeof(MessageHeader) && partial_.header.size > kMaxPayload) {
      return Error(EMSGSIZE, "message payload of " + std::to_string(partial_.header.size) +
                                 " bytes exceeds " + std::to_string(kMaxPayload));
    }
  }
  Message done;
  done.header = partial_.header;
  std::memcpy(done.payload, partial_.payload, done.header.size);
  done.fds = std::move(partial_.fds);
  partial_.fds.clear();
  have_ = 0;
  return std::optional<Message>(std::move(done));
}

Status MessageChannel::send_code(uint32_t code, uint32_t flags, const void* payload, uint32_t size,
                                 const int* fds, size_t fd_count) {
  MessageHeader header{code, flags | kVersion, size};
  iovec iov[2] = {{&header, sizeof(header)}, {const_cast<void*>(payload), size}};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerMessage)]{};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = size ? 2 : 1;
  if (fd_count > kMaxFdsPerMessage) return Error(EINVAL, "too many fds to send");
  if (fd_count > 0) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fd_count);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fd_count);
    std::memcpy(CMSG_DATA(c), fds, sizeof(int) * fd_count);
  }
  ssize_t n;
  do {
    n = ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno_error("sendmsg");
  if (static_cast<size_t>(n) != sizeof(header) + size) return Error(EIO, "short vhost-user write");
  return {};
}

Status MessageChannel::reply(const Message& request, const void* payload, uint32_t size,
                             const int* fds, size_t fd_count) {
  return send(request.request(), kFlagReply, payload, size, fds, fd_count);
}

}  // namespace ringlane::vhost_user
