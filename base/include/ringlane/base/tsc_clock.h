// TscClock: the time-stamp counter for per-packet cycle accounting, calibrated once at start-up.
#pragma once

#include <cstdint>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace ringlane {

inline uint64_t read_tsc() {
#if defined(__x86_64__)
  return __rdtsc();
#else
  return 0;
#endif
}

// Measured TSC ticks per second (calibrated against CLOCK_MONOTONIC on first call).
uint64_t tsc_hz();

}  // namespace ringlane
