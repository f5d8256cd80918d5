#include "ringlane/vmm/nic/signal_shutdown.h"

#include <poll.h>
#include <pthread.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "ringlane/base/log.h"

namespace ringlane::vmm {

namespace {

sigset_t ending_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

Result<std::unique_ptr<SignalShutdown>> SignalShutdown::start() {
  sigset_t set = ending_signals();
  if (int e = pthread_sigmask(SIG_BLOCK, &set, nullptr); e != 0) {
    return Error(e, "blocking SIGTERM and SIGINT");
  }
  UniqueFd signals(signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signals) return errno_error("signalfd");
  Result<EventFd> stop = EventFd::create();
  if (!stop.ok()) return stop.error();
  std::unique_ptr<SignalShutdown> watch(new SignalShutdown(std::move(signals), std::move(*stop)));
  watch->thread_ = std::thread([w = watch.get()] { w->wait_loop(); });
  return watch;
}

SignalShutdown::~SignalShutdown() {
  (void)stop_.signal();
  if (thread_.joinable()) thread_.join();
}

void SignalShutdown::wait_loop() {
  for (;;) {
    pollfd fds[2] = {{signals_.get(), POLLIN, 0}, {stop_.fd(), POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      log_line(LogLevel::error, std::string("waiting for SIGTERM and SIGINT: ") +
                                    std::strerror(errno) + "; they will not be acted on");
      return;
    }
    if ((fds[1].revents & POLLIN) != 0) return;
    signalfd_siginfo info{};
    if (read(signals_.get(), &info, sizeof(info)) == static_cast<ssize_t>(sizeof(info))) {
      end_by(static_cast<int>(info.ssi_signo));
    }
  }
}

void SignalShutdown::end_by(int signal) {
  log_line(LogLevel::info, std::string("SIG") + sigabbrev_np(signal) +
                               ": shutting the NICs down, then ending by it");
  {
    // Waits for a NIC being built; a NIC's own lock waits for a switch under way.
    std::lock_guard lock(mutex_);
    for (Nic* nic : nics_) nic->shut_down();
  }
  // Ended by the signal itself, as without this thread: its default action, unblocked here.
  std::signal(signal, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, signal);
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  raise(signal);
  _exit(128 + signal);  // not reached: the default action of SIGTERM and SIGINT ends the process
}

}  // namespace ringlane::vmm
