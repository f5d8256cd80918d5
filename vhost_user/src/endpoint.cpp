#include "ringlane/vhost_user/endpoint.h"

#include <sys/epoll.h>
#include <unistd.h>

#include "ringlane/base/log.h"
#include "ringlane/base/unix_socket.h"

namespace ringlane::vhost_user {

VhostUserEndpoint::VhostUserEndpoint(std::string path, SocketMode mode, VhostUserBackend& backend,
                                     EventLoop& loop)
    : path_(std::move(path)), mode_(mode), backend_(backend), loop_(loop) {}

VhostUserEndpoint::~VhostUserEndpoint() {
  if (channel_) {
    loop_.unwatch(channel_->fd());
    backend_.disconnect();
  }
  if (listen_fd_) {
    loop_.unwatch(listen_fd_.get());
    ::unlink(path_.c_str());
  }
}

void VhostUserEndpoint::close(const std::string& why) {
  closed_ = true;
  drop_connection(why);
  if (listen_fd_) {
    loop_.unwatch(listen_fd_.get());
    listen_fd_.reset();
    ::unlink(path_.c_str());
  }
}

Status VhostUserEndpoint::start() {
  if (mode_ == SocketMode::client) {
    try_connect();
    return {};
  }
  auto fd = listen_unix(path_);
  if (!fd) return fd.error();
  listen_fd_ = std::move(*fd);
  return loop_.watch(listen_fd_.get(), EPOLLIN, [this](uint32_t) { on_listen_ready(); });
}

void VhostUserEndpoint::on_listen_ready() {
  auto fd = accept_unix(listen_fd_.get());
  if (!fd) return;
  if (channel_) {
    // One frontend per device; a second one is turned away rather than queued forever.
    backend_.log_limit().log(LogLevel::warn,
                             backend_.name() + ": refusing a second frontend on " + path_);
    backend_.stats().bad_messages.inc();
    return;
  }
  adopt(std::move(*fd));
}

void VhostUserEndpoint::adopt(UniqueFd fd) {
  int raw = fd.get();
  channel_.emplace(std::move(fd));
  backend_.stats().connections.inc();
  backoff_ = kMinBackoff;
  connect_error_logged_ = false;
  backend_.log_limit().log(LogLevel::info, backend_.name() + ": frontend connected on " + path_);
  if (Status s =
          loop_.watch(raw, EPOLLIN | EPOLLRDHUP, [this](uint32_t e) { on_connection_ready(e); });
      !s.ok()) {
    drop_connection(s.error().to_string());
  }
}

void VhostUserEndpoint::on_connection_ready(uint32_t events) {
  // Drain every complete message before looking at hang-up: the last messages before a close
  // still count.
  for (int budget = 0; budget < 256 && channel_; ++budget) {
    auto message = channel_->receive();
    if (!message) {
      // A malformed message (oversized, too many fds) counts; the frontend closing does not.
      if (message.error().code() != ECONNRESET) backend_.stats().bad_messages.inc();
      drop_connection(message.error().to_string());
      return;
    }
    if (!message->has_value()) break;
    if (Status s = backend_.handle(**message, *channel_); !s.ok()) {
      drop_connection(s.error().to_string());
      return;
    }
  }
  if (channel_ && (events & (EPOLLHUP | EPOLLERR))) drop_connection("connection hung up");
}

void VhostUserEndpoint::drop_connection(const std::string& why) {
  if (!channel_) return;
  loop_.unwatch(channel_->fd());
  // Stop every ring before closing: a frontend that gave up on us (a request it timed out on)
  // takes our end-of-file as the sign that we no longer touch its rings.
  backend_.disconnect();
  channel_.reset();
  backend_.log_limit().log(LogLevel::info,
                           backend_.name() + ": frontend disconnected (" + why + ")");
  if (mode_ == SocketMode::client) next_attempt_ = Clock::now() + backoff_;
}

void VhostUserEndpoint::try_connect() {
  auto fd = connect_unix(path_);
  if (!fd) {
    if (!connect_error_logged_) {
      log_line(LogLevel::info, backend_.name() + ": waiting for a frontend at " + path_ + " (" +
                                   fd.error().to_string() + ")");
      connect_error_logged_ = true;
    }
    next_attempt_ = Clock::now() + backoff_;
    backoff_ = std::min(backoff_ * 2, kMaxBackoff);
    return;
  }
  adopt(std::move(*fd));
}

void VhostUserEndpoint::tick(Clock::time_point now) {
  if (mode_ == SocketMode::client && !closed_ && !channel_ && now >= next_attempt_) try_connect();
}

}  // namespace ringlane::vhost_user
