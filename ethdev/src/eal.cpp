#include "ringlane/ethdev/eal.h"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include <memory>
#include <mutex>
#include <vector>

#include "dpdk_log.h"
#include "ringlane/base/cpu_affinity.h"
#include "ringlane/base/log.h"

namespace ringlane::ethdev {

namespace {

// The EAL's lifetime: rte_eal_cleanup runs when this is destroyed at exit, after main has
// returned, so after the engine stopped the workers and closed the ports.
class Eal {
 public:
  Status start(const EalSettings& requested) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (attempted_) return outcome_;
    attempted_ = true;
    EalSettings settings = requested;
    if (settings.main_cores.empty()) {
      auto cores = allowed_cores();
      if (cores.ok()) settings.main_cores = *cores;
    }
    // rte_eal_init permutes argv and may keep pointers into it: both live as long as the process.
    args_ = eal_arguments(settings);
    argv_.clear();
    for (std::string& a : args_) argv_.push_back(a.data());
    capture_dpdk_log();
    std::string command;
    for (const std::string& a : args_) command += (command.empty() ? "" : " ") + a;
    RL_LOG(debug, "dpdk: starting the EAL: " + command);
    DpdkErrors errors;
    if (rte_eal_init(static_cast<int>(argv_.size()), argv_.data()) < 0) {
      int code = rte_errno;
      std::string why = errors.take();
      outcome_ = Error(
          code, "DPDK's EAL did not start (" + command + ")" + (why.empty() ? "" : ": " + why));
      return outcome_;
    }
    started_ = true;
    return outcome_;
  }

  bool started() const { return started_; }

  ~Eal() {
    if (!started_) return;
    rte_eal_cleanup();
    release_dpdk_log();
  }

 private:
  std::mutex mutex_;
  bool attempted_ = false;
  bool started_ = false;
  Status outcome_;
  std::vector<std::string> args_;
  std::vector<char*> argv_;
};

Eal& eal() {
  static Eal instance;
  return instance;
}

// Unregisters the thread when it exits (a worker's thread ends at engine stop).
struct ThreadRegistration {
  bool registered = false;
  ~ThreadRegistration() {
    if (registered) rte_thread_unregister();
  }
};

}  // namespace

Status start_eal(const EalSettings& settings) {
  return eal().start(settings);
}

bool eal_started() {
  return eal().started();
}

Status register_thread() {
  if (!eal_started()) return {};
  thread_local ThreadRegistration registration;
  if (registration.registered) return {};
  if (rte_thread_register() != 0) {
    return Error(rte_errno, "rte_thread_register: the thread gets no lcore id (DPDK allows " +
                                std::to_string(RTE_MAX_LCORE) + ")");
  }
  registration.registered = true;
  return {};
}

}  // namespace ringlane::ethdev
