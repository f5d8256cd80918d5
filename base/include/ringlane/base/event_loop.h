// EventLoop: the control thread's epoll loop. Handlers are looked up by fd at dispatch time,
// so a handler may unwatch itself (or others) safely from inside a callback.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>

#include "ringlane/base/epoll.h"

namespace ringlane {

class EventLoop {
 public:
  using Handler = std::function<void(uint32_t events)>;

  static Result<std::unique_ptr<EventLoop>> create();

  Status watch(int fd, uint32_t events, Handler handler);
  void unwatch(int fd);
  // Waits up to timeout_ms for events and dispatches them; returns how many were dispatched.
  Result<int> run_once(int timeout_ms);

 private:
  explicit EventLoop(Epoll epoll) : epoll_(std::move(epoll)) {}
  Epoll epoll_;
  std::unordered_map<int, std::shared_ptr<Handler>> handlers_;
};

}  // namespace ringlane
