// What the burst functions (rx.cpp, tx.cpp) need to know about the two ring kinds beyond the
// methods SplitQueue and PackedQueue share: how far to look for chains, and whether more can be
// found in the middle of a burst. Private to net/: the split overloads are constants and vanish
// once inlined, so the split path compiles as it did before packed rings existed.
#pragma once

#include <cstdint>

#include "ringlane/virtio/packed_queue.h"
#include "ringlane/virtio/split_queue.h"

namespace ringlane::net::detail {

// Chains available now. A split ring's avail index counts them all in one read, whatever
// `want`; a packed ring is scanned descriptor by descriptor, so only until `want` are found.
inline uint16_t chains_available(virtio::SplitQueue& queue, uint16_t /*want*/) {
  return queue.avail_count();
}
inline uint16_t chains_available(virtio::PackedQueue& queue, uint16_t want) {
  return queue.avail_count(want);
}

// Called when the `available` chains are all spoken for: whether there are more, with
// `available` updated. A split ring's count was complete; a packed ring is scanned further.
inline bool find_more_chains(virtio::SplitQueue& /*queue*/, uint16_t& /*available*/) {
  return false;
}
inline bool find_more_chains(virtio::PackedQueue& queue, uint16_t& available) {
  uint16_t found = queue.avail_count(static_cast<uint16_t>(available + 1));
  bool more = found > available;
  available = found;
  return more;
}

}  // namespace ringlane::net::detail
