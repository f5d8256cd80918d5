// The descriptor-chain walker shared by walk_chain() (one direction, the net path) and
// walk_request_chain() (readable then writable, request-response devices). Private to virtio/:
// a template on the direction rule, so that each walk compiles to its own loop and the net
// path's carries nothing the request walk needs.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>

#include "ringlane/virtio/desc_chain.h"
#include "ringlane/virtio/guest_memory.h"
#include "ringlane/virtio/spec.h"

namespace ringlane::virtio::detail {

// The guest may rewrite descriptors while we read them: copy each one exactly once.
inline VringDesc read_desc(const VringDesc* table, uint32_t index) {
  VringDesc d;
  std::memcpy(&d, static_cast<const void*>(&table[index]), sizeof(d));
  return d;
}

// `Direction` has `bool accept(bool writable, uint32_t spans, uint64_t bytes)`: whether a buffer
// of that direction may come next, told how much of the chain came before it.
template <typename Direction>
struct ChainWalker {
  const GuestMemory& mem;
  Direction direction;
  std::span<HostSpan> out;
  uint32_t spans = 0;
  uint64_t bytes = 0;
  bool overflow = false;

  ChainStatus add_buffer(const VringDesc& d) {
    if (!direction.accept((d.flags & kDescFWrite) != 0, spans, bytes)) {
      return ChainStatus::wrong_direction;
    }
    if (d.len == 0) return ChainStatus::ok;
    if (spans < out.size()) {
      // Fast path: the buffer lies inside one region.
      if (uint8_t* p = mem.translate(d.addr, d.len)) {
        out[spans++] = HostSpan{p, d.len};
        bytes += d.len;
        return ChainStatus::ok;
      }
      if (size_t n = mem.translate_spans(d.addr, d.len, out.subspan(spans)); n != 0) {
        spans += static_cast<uint32_t>(n);
        bytes += d.len;
        return ChainStatus::ok;
      }
    }
    if (!mem.contains(d.addr, d.len)) return ChainStatus::unmapped;
    // Out of room: keep walking, so that a loop or an over-long chain is still called what it
    // is, and report the limit only for a chain that is otherwise valid.
    overflow = true;
    bytes += d.len;
    return ChainStatus::ok;
  }

  // Follows a chain inside one table (the ring's or an indirect one).
  ChainStatus follow(const VringDesc* table, uint32_t table_size, uint32_t index,
                     bool inside_indirect, bool indirect_allowed) {
    for (uint32_t visited = 0;; ++visited) {
      if (visited >= table_size) return ChainStatus::too_long;
      VringDesc d = read_desc(table, index);
      if (d.flags & kDescFIndirect) {
        if (inside_indirect || !indirect_allowed) return ChainStatus::nested_indirect;
        if ((d.flags & kDescFNext) || d.len == 0 || d.len % sizeof(VringDesc) != 0 ||
            d.len / sizeof(VringDesc) > 65536) {
          return ChainStatus::bad_indirect;
        }
        auto* inner = reinterpret_cast<const VringDesc*>(mem.translate(d.addr, d.len));
        if (inner == nullptr) return ChainStatus::bad_indirect;
        return follow(inner, d.len / sizeof(VringDesc), 0, true, false);
      }
      if (ChainStatus s = add_buffer(d); s != ChainStatus::ok) return s;
      if (!(d.flags & kDescFNext)) return ChainStatus::ok;
      index = d.next;
      if (index >= table_size) return ChainStatus::bad_next;
    }
  }

  // Walks from `head`; the status with the overflow folded in.
  ChainStatus walk(const VringDesc* table, uint16_t size, uint16_t head, bool indirect_allowed) {
    ChainStatus s = follow(table, size, head, false, indirect_allowed);
    if (s == ChainStatus::ok && overflow) s = ChainStatus::too_many_segments;
    return s;
  }
};

}  // namespace ringlane::virtio::detail
