#include "ringlane/base/event_fd.h"

#include <sys/eventfd.h>
#include <unistd.h>

namespace ringlane {

Result<EventFd> EventFd::create() {
  int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return errno_error("eventfd");
  return EventFd(UniqueFd(fd));
}

Status EventFd::signal() const {
  uint64_t one = 1;
  if (::write(fd_.get(), &one, sizeof(one)) != sizeof(one) && errno != EAGAIN) {
    return errno_error("eventfd write");
  }
  return {};
}

uint64_t EventFd::drain() const {
  return drain_event_fd(fd_.get());
}

uint64_t drain_event_fd(int fd) {
  uint64_t value = 0;
  if (::read(fd, &value, sizeof(value)) != sizeof(value)) return 0;
  return value;
}

void signal_event_fd(int fd) {
  uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(fd, &one, sizeof(one));
}

}  // namespace ringlane
