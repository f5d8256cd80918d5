// QueueHandoff: how a queue pair moves from one worker to another without a pause. For the move
// the queue is in both workers' poll lists; the old worker polls it until it next comes to it,
// then hands it over (after its last burst is complete) and the new worker takes it up at once.
// Taking it off the old worker and waiting a grace period before the new one may start would
// leave it unpolled until every worker, and the control thread, had run again: on cores the
// workers share with other threads, a scheduler slice or two.
#pragma once

#include <atomic>

namespace ringlane::dataplane {

struct QueueHandoff {
  QueueHandoff(unsigned from_worker, unsigned to_worker)
      : owner(from_worker), from(from_worker), to(to_worker) {}

  // The worker allowed to poll the queue now. Release on hand-over, acquire before polling: the
  // new worker sees every ring and counter write the old one made.
  std::atomic<unsigned> owner;
  const unsigned from;
  const unsigned to;

  // The polling worker `worker`, before it polls: whether it may. The old owner hands the queue
  // over here instead of polling it again.
  bool may_poll(unsigned worker) {
    unsigned now = owner.load(std::memory_order_acquire);
    if (now != worker) return false;
    if (worker == from && from != to) {
      owner.store(to, std::memory_order_release);
      return false;
    }
    return true;
  }
  bool done() const { return owner.load(std::memory_order_acquire) == to; }
};

}  // namespace ringlane::dataplane
