// QuiescentState: lets the control thread wait until every worker has passed a point where it
// holds no reference to shared state (QSBR, as in userspace RCU). Workers never block while they
// poll: they announce a quiescent point once per poll-loop iteration. A worker that sleeps on its
// queues' kicks (--idle sleep) stays online and holds its references; a writer that needs it to
// pass a quiescent point wakes it through the eventfd it registered for its sleep.
#pragma once

#include <atomic>
#include <cstdint>

namespace ringlane {

class QuiescentState {
 public:
  static constexpr int kMaxReaders = 64;

  // Returns a reader slot, or -1 when all are taken. The reader starts online.
  int register_reader();
  void unregister_reader(int slot);

  // Worker: "I hold no references". A full fence orders our earlier accesses before the
  // announcement and our later reads of published state after any writer's earlier store.
  void quiescent(int slot) {
    auto& c = slots_[slot].counter;
    c.exchange(c.load(std::memory_order_relaxed) + 2, std::memory_order_seq_cst);
  }
  // A worker that leaves for good goes offline so writers do not wait for it.
  void offline(int slot) { slots_[slot].counter.fetch_add(1, std::memory_order_seq_cst); }
  void online(int slot) { slots_[slot].counter.fetch_add(1, std::memory_order_seq_cst); }

  // Worker, around a sleep in the kernel: while asleep, a writer waiting for this slot (and
  // wake_sleepers()) writes to `wake_fd`, an eventfd among those the worker sleeps on. The
  // store is seq_cst so that a writer either sees it or the worker has not started to sleep.
  void sleep_begin(int slot, int wake_fd) {
    slots_[slot].wake_fd.store(wake_fd, std::memory_order_relaxed);
    slots_[slot].sleeping.store(true, std::memory_order_seq_cst);
  }
  void sleep_end(int slot) { slots_[slot].sleeping.store(false, std::memory_order_seq_cst); }

  // Control thread: returns once every reader online at the call has passed a quiescent point,
  // waking those that sleep.
  void synchronize() const;
  // Control thread: wakes every sleeping reader (e.g. a queue started: it has a new kick fd the
  // sleeper does not wait on yet).
  void wake_sleepers() const;

 private:
  struct alignas(64) Slot {
    // Odd: online. Even: offline or unused. Incremented by 2 per quiescent point.
    std::atomic<uint64_t> counter{0};
    std::atomic<bool> used{false};
    std::atomic<bool> sleeping{false};
    std::atomic<int> wake_fd{-1};
  };
  static void wake(const Slot& slot);
  Slot slots_[kMaxReaders];
};

}  // namespace ringlane
