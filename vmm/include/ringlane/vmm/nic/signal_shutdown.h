// SignalShutdown: ringlane-vmm's end on SIGTERM and SIGINT. A NIC may hold something outside the
// VMM (a port a ringlane daemon created for it, daemon_port.h) that these signals' default action
// would leave behind. So the signals are blocked in every thread and one thread waits for them:
// it shuts every NIC down (Nic::shut_down) and then ends the process by the same signal, as if it
// had not been caught, so the parent still sees what ended it. SIGKILL cannot be caught: what a
// VMM killed that way held stays.
#pragma once

#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "ringlane/base/event_fd.h"
#include "ringlane/base/result.h"
#include "ringlane/base/unique_fd.h"
#include "ringlane/vmm/nic/nic.h"

namespace ringlane::vmm {

class SignalShutdown {
 public:
  // Blocks the signals in the calling thread, and so in every thread started from it later: call
  // it before the program starts any other thread. Starts the waiting thread.
  static Result<std::unique_ptr<SignalShutdown>> start();
  SignalShutdown(const SignalShutdown&) = delete;
  SignalShutdown& operator=(const SignalShutdown&) = delete;
  // Stops the waiting thread. The signals stay blocked: a signal that comes later is not acted on
  // and the program ends by its own path, which gives back what the NICs hold anyway.
  ~SignalShutdown();

  // Holds the signal's shut-down off, while a NIC is being built (it may be creating a daemon
  // port): a signal then waits for the NIC and shuts it down too.
  std::unique_lock<std::mutex> hold() { return std::unique_lock(mutex_); }
  // A NIC to shut down on a signal; under hold()'s lock. It must outlive this object.
  void add(Nic& nic) { nics_.push_back(&nic); }

 private:
  SignalShutdown(UniqueFd signals, EventFd stop)
      : signals_(std::move(signals)), stop_(std::move(stop)) {}
  void wait_loop();
  [[noreturn]] void end_by(int signal);

  UniqueFd signals_;  // a signalfd for SIGTERM and SIGINT
  EventFd stop_;
  std::mutex mutex_;
  std::vector<Nic*> nics_;  // under mutex_
  std::thread thread_;
};

}  // namespace ringlane::vmm
