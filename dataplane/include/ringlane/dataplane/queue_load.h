// QueueLoad: what polling one queue pair costs, measured by the worker that polls it: the cycles
// of its non-empty polls, the packets they took, and the longest gap between two bursts (how a
// stall of its worker, or a move to another, shows). Written by one worker at a time: while a
// queue moves, the workers poll it under QueueHandoff's lock, whose release and acquire order
// one holder's writes before the next one's. The cycles are TSC time around a burst: time the
// worker spent preempted in the middle of one counts too, so on an oversubscribed host rebalancing
// acts on that noise.
#pragma once

#include <atomic>
#include <cstdint>

#include "ringlane/base/counter.h"

namespace ringlane::dataplane {

struct QueueLoad {
  Counter busy_cycles;
  Counter packets;
  Counter bursts;
  Counter last_burst;  // TSC time the last burst started (0: none yet)
  Counter max_gap;     // longest TSC interval between two bursts since the gap epoch began
  Counter epoch_seen;  // the gap epoch max_gap belongs to

  // The worker, after a non-empty poll that started at `start` and took `cycles`. `epoch`: the
  // engine's gap epoch; a new one starts the longest gap again.
  void record(uint64_t start, uint64_t cycles, uint16_t n, uint64_t epoch) {
    busy_cycles.add(cycles);
    packets.add(n);
    bursts.inc();
    uint64_t last = last_burst.get();
    if (epoch != epoch_seen.get()) [[unlikely]] {
      epoch_seen.set(epoch);
      max_gap.reset();
    } else if (last != 0 && start - last > max_gap.get()) {
      max_gap.set(start - last);
    }
    last_burst.set(start);
  }
};

}  // namespace ringlane::dataplane
