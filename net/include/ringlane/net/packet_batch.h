// PacketBatch: up to kBurstSize packets, each a list of (pointer, length) views into the source
// guest's memory. Nothing is copied until the packet reaches its destination's buffers.
#pragma once

#include <cstdint>

#include "ringlane/virtio/guest_memory.h"
#include "ringlane/virtio/spec.h"

namespace ringlane::net {

inline constexpr uint16_t kBurstSize = 32;
inline constexpr uint32_t kMaxPacketSpans = 64;
// How much of a frame the burst functions prefetch before copying it: the header and a small
// frame whole; the hardware prefetcher follows longer copies.
inline constexpr uint64_t kFramePrefetchBytes = 192;

struct PacketView {
  uint32_t first_span;
  uint16_t span_count;
  uint16_t head;          // descriptor head to return to the source queue
  uint32_t len;           // frame bytes, without the virtio-net header
  virtio::NetHeader hdr;  // offload request from the source (zero when none)
};

struct PacketBatch {
  static constexpr uint32_t kSpanCapacity = kBurstSize * 4 + kMaxPacketSpans;

  uint16_t count = 0;
  uint32_t spans_used = 0;
  // Every head taken from the source queue, dropped ones included, in ring order: they go back
  // in that order (VIRTIO_F_IN_ORDER asks for it, and it costs nothing otherwise).
  uint16_t source_head_count = 0;
  uint16_t source_heads[kBurstSize];
  PacketView packets[kBurstSize];
  virtio::HostSpan spans[kSpanCapacity];

  void clear() {
    count = 0;
    spans_used = 0;
    source_head_count = 0;
  }
  const virtio::HostSpan* spans_of(const PacketView& p) const { return &spans[p.first_span]; }
  // Room for one more packet of the largest chain we accept.
  bool has_room() const {
    return count < kBurstSize && spans_used + kMaxPacketSpans <= kSpanCapacity;
  }
};

}  // namespace ringlane::net
