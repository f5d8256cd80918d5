#include "ringlane/base/tsc_clock.h"

#include <time.h>

#include "ringlane/base/monotonic_clock.h"

namespace ringlane {

namespace {

uint64_t calibrate() {
  int64_t t0 = monotonic_ns();
  uint64_t c0 = read_tsc();
  timespec delay{0, 50L * 1000 * 1000};
  nanosleep(&delay, nullptr);
  int64_t t1 = monotonic_ns();
  uint64_t c1 = read_tsc();
  if (t1 == t0) return 1;
  return static_cast<uint64_t>(static_cast<double>(c1 - c0) * 1e9 / static_cast<double>(t1 - t0));
}

}  // namespace

uint64_t tsc_hz() {
  static const uint64_t hz = calibrate();
  return hz;
}

}  // namespace ringlane
