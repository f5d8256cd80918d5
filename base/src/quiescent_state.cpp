#include "ringlane/base/quiescent_state.h"

#include <sched.h>

namespace ringlane {

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
  slots_[slot].used.store(false);
}

void QuiescentState::synchronize() const {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  uint64_t snapshot[kMaxReaders];
  for (int i = 0; i < kMaxReaders; ++i)
    snapshot[i] = slots_[i].counter.load(std::memory_order_acquire);
  for (int i = 0; i < kMaxReaders; ++i) {
    if ((snapshot[i] & 1) == 0) continue;
    while (slots_[i].counter.load(std::memory_order_acquire) == snapshot[i]) sched_yield();
  }
}

}  // namespace ringlane
