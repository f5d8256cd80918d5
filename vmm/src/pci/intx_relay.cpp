#include "ringlane/vmm/pci/intx_relay.h"

#include "ringlane/base/log.h"

namespace ringlane::vmm {

namespace {
constexpr uint64_t kStopToken = ~0ULL;
}  // namespace

Result<std::unique_ptr<IntxRelay>> IntxRelay::create(std::function<void()> signalled) {
  Result<Epoll> epoll = Epoll::create();
  if (!epoll.ok()) return epoll.error();
  Result<EventFd> stop = EventFd::create();
  if (!stop.ok()) return stop.error();
  if (Status s = epoll->add(stop->fd(), EPOLLIN, kStopToken); !s.ok()) return s.error();
  std::unique_ptr<IntxRelay> relay(
      new IntxRelay(std::move(*epoll), std::move(*stop), std::move(signalled)));
  relay->thread_ = std::thread([r = relay.get()] { r->serve(); });
  return relay;
}

IntxRelay::~IntxRelay() {
  (void)stop_.signal();
  if (thread_.joinable()) thread_.join();
}

void IntxRelay::watch(const std::vector<int>& fds) {
  std::lock_guard lock(mutex_);
  if (fds == watched_) return;
  for (int fd : watched_) epoll_.remove(fd);
  watched_.clear();
  for (int fd : fds) {
    if (Status s = epoll_.add(fd, EPOLLIN, static_cast<uint64_t>(fd)); !s.ok()) {
      log_line(LogLevel::warn,
               "INTx relay: cannot watch an interrupt eventfd: " + s.error().to_string());
      continue;
    }
    watched_.push_back(fd);
  }
}

void IntxRelay::serve() {
  for (;;) {
    epoll_event events[8];
    Result<int> n = epoll_.wait(events, -1);
    if (!n.ok()) continue;
    bool any = false;
    for (int i = 0; i < *n; ++i) {
      if (events[i].data.u64 == kStopToken) return;
      // A signal read here is delivered as INTx; one that arrives after the fd stopped being
      // watched (MSI-X just enabled) stays in the eventfd for the irqfd.
      if (drain_event_fd(static_cast<int>(events[i].data.u64)) != 0) any = true;
    }
    if (any) signalled_();
  }
}

}  // namespace ringlane::vmm
