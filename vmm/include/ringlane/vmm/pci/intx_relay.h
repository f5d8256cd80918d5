// IntxRelay: turns interrupt eventfds into an INTx interrupt. With MSI-X the eventfds a backend
// signals are irqfds and never reach the VMM; a driver without MSI-X (Linux with pci=nomsi, old
// guests) takes INTx and reads the ISR, which only the VMM can set. This thread watches the
// eventfds while that is the case and calls `signalled` for each wake-up.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "ringlane/base/epoll.h"
#include "ringlane/base/event_fd.h"
#include "ringlane/base/result.h"

namespace ringlane::vmm {

class IntxRelay {
 public:
  static Result<std::unique_ptr<IntxRelay>> create(std::function<void()> signalled);
  ~IntxRelay();
  IntxRelay(const IntxRelay&) = delete;
  IntxRelay& operator=(const IntxRelay&) = delete;

  // The eventfds to watch from now on (none: stop watching).
  void watch(const std::vector<int>& fds);

 private:
  IntxRelay(Epoll epoll, EventFd stop, std::function<void()> signalled)
      : epoll_(std::move(epoll)), stop_(std::move(stop)), signalled_(std::move(signalled)) {}
  void serve();

  Epoll epoll_;
  EventFd stop_;
  std::function<void()> signalled_;
  std::mutex mutex_;  // watched_ against concurrent watch() calls
  std::vector<int> watched_;
  std::thread thread_;
};

}  // namespace ringlane::vmm
