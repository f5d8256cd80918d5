// add_overflows: whether a + b wraps past 2^64, for the range checks on addresses and lengths a
// frontend or a guest hands over (guest_memory.cpp, dirty_log.cpp). Private to virtio/.
#pragma once

#include <cstdint>

namespace ringlane::virtio {

inline bool add_overflows(uint64_t a, uint64_t b) {
  uint64_t sum = 0;
  return __builtin_add_overflow(a, b, &sum);
}

}  // namespace ringlane::virtio
