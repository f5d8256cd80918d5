#include "ringlane/base/event_loop.h"

namespace ringlane {

Result<std::unique_ptr<EventLoop>> EventLoop::create() {
  RINGLANE_ASSIGN_OR_RETURN(Epoll epoll, Epoll::create());
  return std::unique_ptr<EventLoop>(new EventLoop(std::move(epoll)));
}

Status EventLoop::watch(int fd, uint32_t events, Handler handler) {
  RINGLANE_TRY(epoll_.add(fd, events, static_cast<uint64_t>(fd)));
  handlers_[fd] = std::make_shared<Handler>(std::move(handler));
  return {};
}

void EventLoop::unwatch(int fd) {
  if (handlers_.erase(fd) > 0) epoll_.remove(fd);
}

Result<int> EventLoop::run_once(int timeout_ms) {
  epoll_event events[32];
  RINGLANE_ASSIGN_OR_RETURN(const int n, epoll_.wait(events, timeout_ms));
  for (int i = 0; i < n; ++i) {
    auto it = handlers_.find(static_cast<int>(events[i].data.u64));
    if (it == handlers_.end()) continue;
    std::shared_ptr<Handler> keep = it->second;  // survives an unwatch inside the call
    (*keep)(events[i].events);
  }
  return n;
}

}  // namespace ringlane
