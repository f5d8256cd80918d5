// Round trip of one cache line between core 0 and core 1: the floor under every hand-off between
// a guest driver on one core and the data plane on another. On shared cloud machines it moves
// with where the host places the vCPUs, which explains run-to-run swings of vhost_compare.py:
// run it next to a comparison to see the machine's state.
#include <benchmark/benchmark.h>
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <cstdint>
#include <thread>

#include "ringlane/base/cpu_affinity.h"

namespace ringlane::perf {
namespace {

struct alignas(64) Line {
  std::atomic<uint64_t> value{0};
};

void BM_CoreToCoreRoundTrip(benchmark::State& state) {
  if (online_core_count() < 2) {
    state.SkipWithError("needs two cores");
    return;
  }
  cpu_set_t saved;
  pthread_getaffinity_np(pthread_self(), sizeof(saved), &saved);
  if (!pin_current_thread(0).ok()) {
    state.SkipWithError("cannot pin to core 0");
    return;
  }
  Line line;
  Line stop;  // its own line: the partner's polling of it must not disturb `line`
  std::thread partner([&] {
    if (!pin_current_thread(1).ok()) return;
    // Answers every odd value with the next even one.
    for (uint64_t want = 1;; want += 2) {
      while (line.value.load(std::memory_order_acquire) != want) {
        if (stop.value.load(std::memory_order_relaxed)) return;
      }
      line.value.store(want + 1, std::memory_order_release);
    }
  });
  uint64_t sent = 1;
  for (auto _ : state) {
    line.value.store(sent, std::memory_order_release);
    while (line.value.load(std::memory_order_acquire) != sent + 1) {
    }
    sent += 2;
  }
  stop.value.store(1, std::memory_order_relaxed);
  partner.join();
  pthread_setaffinity_np(pthread_self(), sizeof(saved), &saved);
}
// Real time: the partner's spinning is not this thread's CPU time, and the hand-off is the point.
BENCHMARK(BM_CoreToCoreRoundTrip)->UseRealTime();

}  // namespace
}  // namespace ringlane::perf
