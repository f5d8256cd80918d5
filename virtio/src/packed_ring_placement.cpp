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
  if (addresses.desc % kRingAlign != 0 || addresses.avail % kEventAlign != 0 ||
      addresses.used % kEventAlign != 0) {
    out.fault = RingFault::misaligned;
    return out;
  }
  auto translate = [&](uint64_t addr, uint64_t bytes) {
    return space == RingAddressSpace::guest_physical ? memory.translate(addr, bytes)
                                                     : memory.translate_user_addr(addr, bytes);
  };
  uint8_t* desc = translate(addresses.desc, packed_ring_bytes(size));
  uint8_t* driver = translate(addresses.avail, sizeof(PackedEventSuppress));
  uint8_t* device = translate(addresses.used, sizeof(PackedEventSuppress));
  if (desc == nullptr || driver == nullptr || device == nullptr) {
    out.fault = RingFault::outside_memory;
    return out;
  }
  // A region's address need not be aligned like its mapping: check where the rings land.
  if (reinterpret_cast<uintptr_t>(desc) % kRingAlign != 0 ||
      reinterpret_cast<uintptr_t>(driver) % kEventAlign != 0 ||
      reinterpret_cast<uintptr_t>(device) % kEventAlign != 0) {
    out.fault = RingFault::misaligned;
    return out;
  }
  out.layout.desc = reinterpret_cast<PackedDesc*>(desc);
  out.layout.driver_event = reinterpret_cast<PackedEventSuppress*>(driver);
  out.layout.device_event = reinterpret_cast<PackedEventSuppress*>(device);
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

}  // namespace ringlane::virtio
