// Software prefetch of byte ranges: the data path starts every cache miss of a burst before it
// needs the first one, so that cross-core transfers overlap instead of queueing.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ringlane {

inline constexpr uintptr_t kCacheLine = 64;

// Starts loading the cache lines covering [p, p + bytes); with kForWrite, takes ownership of
// them for writing.
template <bool kForWrite>
inline void prefetch_lines(const void* p, size_t bytes) {
  auto end = reinterpret_cast<uintptr_t>(p) + bytes;
  for (uintptr_t a = reinterpret_cast<uintptr_t>(p) & ~(kCacheLine - 1); a < end; a += kCacheLine) {
    __builtin_prefetch(reinterpret_cast<const void*>(a), kForWrite ? 1 : 0);
  }
}

inline void prefetch_read(const void* p, size_t bytes) {
  prefetch_lines<false>(p, bytes);
}
inline void prefetch_write(const void* p, size_t bytes) {
  prefetch_lines<true>(p, bytes);
}

}  // namespace ringlane
