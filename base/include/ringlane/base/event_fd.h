// EventFd: a non-blocking eventfd used for vring kicks, calls and worker wake-ups.
#pragma once

#include <cstdint>

#include "ringlane/base/result.h"
#include "ringlane/base/unique_fd.h"

namespace ringlane {

class EventFd {
 public:
  static Result<EventFd> create();
  explicit EventFd(UniqueFd fd) : fd_(std::move(fd)) {}

  int fd() const { return fd_.get(); }
  // Adds one to the counter; errors other than EAGAIN are reported.
  Status signal() const;
  // Reads and clears the counter; returns 0 when nothing was pending.
  uint64_t drain() const;

 private:
  UniqueFd fd_;
};

// Signals an eventfd we do not own (a vring call fd); one syscall, no error path worth taking.
void signal_event_fd(int fd);
// Reads and clears an eventfd we do not own (a doorbell); 0 when nothing was pending.
uint64_t drain_event_fd(int fd);

}  // namespace ringlane
