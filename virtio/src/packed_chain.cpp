#include "ringlane/virtio/packed_chain.h"

#include <cstring>

#include "chain_walker.h"

namespace ringlane::virtio {

namespace {

// One direction for every buffer of the chain (the net path's rule).
struct OneDirection {
  bool writable;
  bool accept(bool buffer_writable, uint32_t /*spans*/, uint64_t /*bytes*/) const {
    return buffer_writable == writable;
  }
};

// The split walker's buffer step takes a split descriptor; the fields it reads are the same.
VringDesc as_split(const PackedDesc& d) {
  return VringDesc{d.addr, d.len, d.flags, 0};
}

template <typename Direction>
ChainStatus follow_indirect(detail::ChainWalker<Direction>& w, const PackedDesc& d,
                            uint16_t queue_size) {
  if ((d.flags & kDescFNext) || d.len == 0 || d.len % sizeof(PackedDesc) != 0) {
    return ChainStatus::bad_indirect;
  }
  uint32_t entries = d.len / sizeof(PackedDesc);
  // A list longer than the queue is forbidden to the driver (virtio 1.2 section 2.8.18), and
  // would let one buffer make the walk as long as the guest likes.
  if (entries > queue_size) return ChainStatus::too_long;
  // Only its address is checked for being mapped, not its alignment: every entry is copied out
  // with memcpy, so an odd address costs nothing and refusing it would gain nothing.
  const uint8_t* table = w.mem.translate(d.addr, d.len);
  if (table == nullptr) return ChainStatus::bad_indirect;
  for (uint32_t i = 0; i < entries; ++i) {
    PackedDesc e;
    std::memcpy(&e, table + uint64_t{i} * sizeof(PackedDesc), sizeof(e));
    if (e.flags & kDescFIndirect) return ChainStatus::nested_indirect;
    // A chain that says it goes on past its table's end.
    if (i + 1 == entries && (e.flags & kDescFNext)) return ChainStatus::bad_indirect;
    if (ChainStatus s = w.add_buffer(as_split(e)); s != ChainStatus::ok) return s;
  }
  return ChainStatus::ok;
}

template <typename Direction>
ChainStatus walk(detail::ChainWalker<Direction>& w, std::span<const PackedDesc> descs,
                 uint16_t queue_size, bool indirect_allowed) {
  for (size_t i = 0; i < descs.size(); ++i) {
    const PackedDesc& d = descs[i];
    if (d.flags & kDescFIndirect) {
      if (!indirect_allowed) return ChainStatus::bad_indirect;  // not negotiated
      if (i + 1 != descs.size()) return ChainStatus::bad_indirect;
      if (ChainStatus s = follow_indirect(w, d, queue_size); s != ChainStatus::ok) return s;
      break;
    }
    if (ChainStatus s = w.add_buffer(as_split(d)); s != ChainStatus::ok) return s;
  }
  return w.overflow ? ChainStatus::too_many_segments : ChainStatus::ok;
}

}  // namespace

ChainWalk walk_packed_chain(const GuestMemory& mem, std::span<const PackedDesc> descs,
                            uint16_t queue_size, Access access, bool indirect_allowed,
                            std::span<HostSpan> out) {
  detail::ChainWalker<OneDirection> w{mem, {access == Access::device_writes}, out};
  ChainStatus s = walk(w, descs, queue_size, indirect_allowed);
  return ChainWalk{s, w.spans, w.bytes};
}

}  // namespace ringlane::virtio
