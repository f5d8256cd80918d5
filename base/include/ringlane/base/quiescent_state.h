// QuiescentState: lets the control thread wait until every worker has passed a point where it
// holds no reference to shared state (QSBR, as in userspace RCU). Workers never block: they
// announce a quiescent point once per poll-loop iteration.
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
  // A worker that sleeps goes offline so writers do not wait for it.
  void offline(int slot) { slots_[slot].counter.fetch_add(1, std::memory_order_seq_cst); }
  void online(int slot) { slots_[slot].counter.fetch_add(1, std::memory_order_seq_cst); }

  // Control thread: returns once every reader online at the call has passed a quiescent point.
  void synchronize() const;

 private:
  struct alignas(64) Slot {
    // Odd: online. Even: offline or unused. Incremented by 2 per quiescent point.
    std::atomic<uint64_t> counter{0};
    std::atomic<bool> used{false};
  };
  Slot slots_[kMaxReaders];
};

}  // namespace ringlane
