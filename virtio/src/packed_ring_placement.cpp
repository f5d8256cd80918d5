#include "ringlane/virtio/packed_ring_placement.h"

#include <string>

#include "ringlane/virtio/spec.h"

namespace ringlane::virtio {

namespace {

constexpr uint64_t kRingAlign = 16;
constexpr uint64_t kEventAlign = 4;

std::string describe(uint16_t idx, bool wrap) {
  return std::to_string(idx) + " (wrap " + (wrap ? "1" : "0") + ")";
}

}  // namespace

PackedRingPlacement place_packed_rings(const GuestMemory& memory, RingAddressSpace space,
                                       const RingAddresses& addresses, uint16_t size) {
  PackedRingPlacement out;
  uint8_t* at[3] = {};
  out.fault = place_ring_areas(memory, space, addresses,
                               {{packed_ring_bytes(size), kRingAlign},
                                {sizeof(PackedEventSuppress), kEventAlign},
                                {sizeof(PackedEventSuppress), kEventAlign}},
                               at);
  if (out.fault != RingFault::none) return out;
  out.layout.desc = reinterpret_cast<PackedDesc*>(at[0]);
  out.layout.driver_event = reinterpret_cast<PackedEventSuppress*>(at[1]);
  out.layout.device_event = reinterpret_cast<PackedEventSuppress*>(at[2]);
  out.layout.size = size;
  return out;
}

Status check_packed_resume_position(const PackedPosition& position, uint16_t size) {
  if (position.avail_idx >= size || position.used_idx >= size) {
    return Error(EPROTO, "refusing to start a packed ring of " + std::to_string(size) +
                             " descriptors at avail " +
                             describe(position.avail_idx, position.avail_wrap) + ", used " +
                             describe(position.used_idx, position.used_wrap) +
                             ": an index outside the ring");
  }
  if (position.used_idx != position.avail_idx || position.used_wrap != position.avail_wrap) {
    return Error(EPROTO, "refusing to start a packed ring at avail " +
                             describe(position.avail_idx, position.avail_wrap) + " with used " +
                             describe(position.used_idx, position.used_wrap) +
                             ": the position handed over is stale, and starting there would "
                             "complete buffers twice or never");
  }
  return {};
}

std::optional<PackedPosition> packed_position_from_ring(const PackedRingLayout& layout) {
  if (layout.desc == nullptr || layout.size == 0) return std::nullopt;
  auto used_bit = [&](uint16_t i) {
    return (__atomic_load_n(&layout.desc[i].flags, __ATOMIC_ACQUIRE) & kPackedDescFUsed) != 0;
  };
  bool first = used_bit(0);
  uint16_t boundary = 0;  // the first slot whose bit differs from slot 0's
  for (uint16_t i = 1; i < layout.size; ++i) {
    if (used_bit(i) == first) {
      if (boundary != 0) return std::nullopt;  // a second change: not one used run
      continue;
    }
    if (boundary == 0) boundary = i;
  }
  // Every bit alike: the device is at the start of a lap, whose wrap counter no slot has yet.
  if (boundary == 0) return PackedPosition{0, !first, 0, !first};
  return PackedPosition{boundary, first, boundary, first};
}

}  // namespace ringlane::virtio
