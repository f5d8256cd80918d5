#include "ringlane/base/quiescent_state.h"

#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>

namespace ringlane {

namespace {
constexpr unsigned kYieldSpins = 64;
constexpr long kFirstPauseNs = 20'000;
constexpr long kLongestPauseNs = 1'000'000;
}  // namespace

int QuiescentState::register_reader() {
  for (int i = 0; i < kMaxReaders; ++i) {
    bool expected = false;
    if (slots_[i].used.compare_exchange_strong(expected, true)) {
      uint64_t c = slots_[i].counter.load();
      if ((c & 1) == 0) slots_[i].counter.store(c + 1, std::memory_order_seq_cst);
      return i;
    }
  }
  return -1;
}

void QuiescentState::unregister_reader(int slot) {
  uint64_t c = slots_[slot].counter.load();
  if (c & 1) slots_[slot].counter.store(c + 1, std::memory_order_seq_cst);
  slots_[slot].sleeping.store(false);
  slots_[slot].used.store(false);
}

void QuiescentState::wake(const Slot& slot) {
  int fd = slot.wake_fd.load(std::memory_order_relaxed);
  if (fd < 0) return;
  uint64_t one = 1;
  // An eventfd write fails only when its counter would overflow: it is readable then anyway.
  (void)!::write(fd, &one, sizeof(one));
}

void QuiescentState::synchronize() const {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  uint64_t snapshot[kMaxReaders];
  for (int i = 0; i < kMaxReaders; ++i)
    snapshot[i] = slots_[i].counter.load(std::memory_order_acquire);
  for (int i = 0; i < kMaxReaders; ++i) {
    if ((snapshot[i] & 1) == 0) continue;
    bool woken = false;
    long pause_ns = kFirstPauseNs;
    for (unsigned spins = 0; slots_[i].counter.load(std::memory_order_acquire) == snapshot[i];
         ++spins) {
      // A sleeper passes its quiescent point only once woken; once is enough, since the eventfd
      // stays readable until the worker reads it.
      if (!woken && slots_[i].sleeping.load(std::memory_order_seq_cst)) {
        wake(slots_[i]);
        woken = true;
      }
      // A worker on another core answers within a loop iteration. One that shares our core (no
      // core was left for the control thread) needs the CPU we would spin on: after a short
      // while, wait by sleeping rather than yielding, which the scheduler may ignore. A worker
      // that is off its cpu stays off for a scheduler slice: sleeps that double (to 1 ms) wake
      // this thread a few times in that slice instead of hundreds, each wake-up a chance to
      // preempt a worker that is running.
      if (spins < kYieldSpins) {
        sched_yield();
      } else {
        timespec pause{0, pause_ns};
        nanosleep(&pause, nullptr);
        pause_ns = std::min(2 * pause_ns, kLongestPauseNs);
      }
    }
  }
}

void QuiescentState::wake_sleepers() const {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  for (const Slot& s : slots_) {
    if (s.used.load(std::memory_order_relaxed) && s.sleeping.load(std::memory_order_seq_cst)) {
      wake(s);
    }
  }
}

}  // namespace ringlane
