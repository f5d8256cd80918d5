// CLOCK_MONOTONIC in nanoseconds: the one clock for intervals that other processes compare
// against (Python's time.monotonic_ns() reads the same clock).
#pragma once

#include <time.h>

#include <cstdint>

namespace ringlane {

inline int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace ringlane
