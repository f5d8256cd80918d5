#include "ringlane/virtio/desc_chain.h"

#include <cstring>

namespace ringlane::virtio {

const char* to_string(ChainStatus status) {
  switch (status) {
    case ChainStatus::ok:
      return "ok";
    case ChainStatus::bad_head:
      return "head index out of range";
    case ChainStatus::bad_next:
      return "next index out of range";
    case ChainStatus::too_long:
      return "descriptor loop or chain longer than the queue";
    case ChainStatus::nested_indirect:
      return "indirect descriptor inside an indirect table";
    case ChainStatus::bad_indirect:
      return "malformed indirect descriptor";
    case ChainStatus::unmapped:
      return "buffer outside guest memory";
    case ChainStatus::wrong_direction:
      return "buffer of the wrong direction";
    case ChainStatus::too_many_segments:
      return "chain has more segments than supported";
  }
  return "unknown";
}

namespace {

// The guest may rewrite descriptors while we read them: copy each one exactly once.
inline virtio::VringDesc read_desc(const virtio::VringDesc* table, uint32_t index) {
  virtio::VringDesc d;
  std::memcpy(&d, static_cast<const void*>(&table[index]), sizeof(d));
  return d;
}

struct Walker {
  const GuestMemory& mem;
  Access access;
  std::span<HostSpan> out;
  uint32_t spans = 0;
  uint64_t bytes = 0;
  bool overflow = false;

  ChainStatus add_buffer(const virtio::VringDesc& d) {
    bool writable = (d.flags & virtio::kDescFWrite) != 0;
    if (writable != (access == Access::device_writes)) return ChainStatus::wrong_direction;
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
  ChainStatus follow(const virtio::VringDesc* table, uint32_t table_size, uint32_t index,
                     bool inside_indirect, bool indirect_allowed) {
    for (uint32_t visited = 0;; ++visited) {
      if (visited >= table_size) return ChainStatus::too_long;
      virtio::VringDesc d = read_desc(table, index);
      if (d.flags & virtio::kDescFIndirect) {
        if (inside_indirect || !indirect_allowed) return ChainStatus::nested_indirect;
        if ((d.flags & virtio::kDescFNext) || d.len == 0 ||
            d.len % sizeof(virtio::VringDesc) != 0 || d.len / sizeof(virtio::VringDesc) > 65536) {
          return ChainStatus::bad_indirect;
        }
        auto* inner = reinterpret_cast<const virtio::VringDesc*>(mem.translate(d.addr, d.len));
        if (inner == nullptr) return ChainStatus::bad_indirect;
        return follow(inner, d.len / sizeof(virtio::VringDesc), 0, true, false);
      }
      if (ChainStatus s = add_buffer(d); s != ChainStatus::ok) return s;
      if (!(d.flags & virtio::kDescFNext)) return ChainStatus::ok;
      index = d.next;
      if (index >= table_size) return ChainStatus::bad_next;
    }
  }
};

}  // namespace

ChainWalk walk_chain(const GuestMemory& mem, const virtio::VringDesc* table, uint16_t size,
                     uint16_t head, Access access, bool indirect_allowed, std::span<HostSpan> out) {
  if (head >= size) return ChainWalk{ChainStatus::bad_head, 0, 0};
  Walker w{mem, access, out};
  ChainStatus s = w.follow(table, size, head, false, indirect_allowed);
  if (s == ChainStatus::ok && w.overflow) s = ChainStatus::too_many_segments;
  return ChainWalk{s, w.spans, w.bytes};
}

}  // namespace ringlane::virtio
