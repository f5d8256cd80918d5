// QueueHandoff: how a queue pair moves from one worker to another without a pause. While it
// moves, every worker that lists it polls it under this lock (a try-lock: a worker that finds it
// taken goes on to its next queue), so whichever of the two is on its cpu serves it: neither
// waits for the other to be scheduled. Outside a move the pointer is null and costs nothing.
//
// The engine moves a queue pair in four views, each published after the previous one's grace
// period, so that no two workers ever poll it at once: (1) the old worker alone, under the lock;
// (2) both workers, under the lock; (3) the new worker alone, under the lock; (4) the new worker
// alone, without it. Handing it over at one instant instead (the old worker stops, the new one
// starts) leaves it unpolled whenever the new worker is off its cpu at that instant: on cpus the
// workers share with other threads, a scheduler slice (measured: the longest gap doubled).
#pragma once

#include <atomic>

namespace ringlane::dataplane {

struct QueueHandoff {
  QueueHandoff(unsigned from_worker, unsigned to_worker) : from(from_worker), to(to_worker) {}

  const unsigned from;
  const unsigned to;

  // Before polling: whether this worker may poll now (no other is). Acquire: it sees every ring
  // and counter write of the previous holder's burst.
  bool try_begin() {
    return !busy_.load(std::memory_order_relaxed) &&
           !busy_.exchange(true, std::memory_order_acquire);
  }
  // After the burst is forwarded and its buffers released.
  void end() { busy_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> busy_{false};
};

}  // namespace ringlane::dataplane
