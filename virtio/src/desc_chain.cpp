#include "ringlane/virtio/desc_chain.h"

#include "chain_walker.h"

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

// One direction for every buffer of the chain.
struct FixedDirection {
  bool writable;
  bool accept(bool buffer_writable, uint32_t /*spans*/, uint64_t /*bytes*/) const {
    return buffer_writable == writable;
  }
};

}  // namespace

ChainWalk walk_chain(const GuestMemory& mem, const virtio::VringDesc* table, uint16_t size,
                     uint16_t head, Access access, bool indirect_allowed, std::span<HostSpan> out) {
  if (head >= size) return ChainWalk{ChainStatus::bad_head, 0, 0};
  detail::ChainWalker<FixedDirection> w{mem, {access == Access::device_writes}, out};
  ChainStatus s = w.walk(table, size, head, indirect_allowed);
  return ChainWalk{s, w.spans, w.bytes};
}

}  // namespace ringlane::virtio
