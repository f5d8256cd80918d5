// VhostUserEndpoint: one vhost-user socket and the connection on it. In server mode ringlane
// listens and serves one frontend at a time; in client mode it connects, and reconnects with
// exponential back-off whenever the frontend goes away.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "ringlane/base/event_loop.h"
#include "ringlane/vhost_user/backend.h"
#include "ringlane/vhost_user/message_channel.h"

namespace ringlane::vhost_user {

enum class SocketMode { server, client };
// The mode a configuration's `client_mode` flag (mode=client) names.
inline SocketMode socket_mode_of(bool client) {
  return client ? SocketMode::client : SocketMode::server;
}

class VhostUserEndpoint {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kMinBackoff{50};
  static constexpr std::chrono::milliseconds kMaxBackoff{2000};

  VhostUserEndpoint(std::string path, SocketMode mode, VhostUserBackend& backend, EventLoop& loop);
  ~VhostUserEndpoint();
  VhostUserEndpoint(const VhostUserEndpoint&) = delete;
  VhostUserEndpoint& operator=(const VhostUserEndpoint&) = delete;

  // Server: listen now (errors are fatal to start-up). Client: first connection attempt.
  Status start();
  // Called by the control loop regularly: makes due reconnection attempts.
  void tick(Clock::time_point now);
  // Ends the endpoint for good: the frontend is disconnected (its rings stopped and drained
  // first), the socket is no longer listened on and its file is removed, and a client stops
  // reconnecting. `why` goes into the log line.
  void close(const std::string& why);

  bool connected() const { return channel_.has_value(); }
  const std::string& path() const { return path_; }
  SocketMode mode() const { return mode_; }

 private:
  void on_listen_ready();
  void on_connection_ready(uint32_t events);
  void adopt(UniqueFd fd);
  void drop_connection(const std::string& why);
  void try_connect();

  std::string path_;
  SocketMode mode_;
  VhostUserBackend& backend_;
  EventLoop& loop_;
  UniqueFd listen_fd_;
  std::optional<MessageChannel> channel_;
  std::chrono::milliseconds backoff_ = kMinBackoff;
  Clock::time_point next_attempt_{};
  bool connect_error_logged_ = false;
  bool closed_ = false;
};

}  // namespace ringlane::vhost_user
