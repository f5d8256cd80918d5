#include "ringlane/virtio/ring_placement.h"

#include "ringlane/virtio/spec.h"

namespace ringlane::virtio {

namespace {

// Alignment the split ring requires (virtio 1.2 section 2.7).
constexpr uint64_t kDescAlign = 16;
constexpr uint64_t kAvailAlign = 2;
constexpr uint64_t kUsedAlign = 4;

}  // namespace

RingPlacement place_split_rings(const GuestMemory& memory, RingAddressSpace space,
                                const RingAddresses& addresses, uint16_t size) {
  RingPlacement out;
  if (addresses.desc % kDescAlign != 0 || addresses.avail % kAvailAlign != 0 ||
      addresses.used % kUsedAlign != 0) {
    out.fault = RingFault::misaligned;
    return out;
  }
  auto translate = [&](uint64_t addr, uint64_t bytes) {
    return space == RingAddressSpace::guest_physical ? memory.translate(addr, bytes)
                                                     : memory.translate_user_addr(addr, bytes);
  };
  uint8_t* desc = translate(addresses.desc, desc_table_bytes(size));
  uint8_t* avail = translate(addresses.avail, avail_ring_bytes(size));
  uint8_t* used = translate(addresses.used, used_ring_bytes(size));
  if (desc == nullptr || avail == nullptr || used == nullptr) {
    out.fault = RingFault::outside_memory;
    return out;
  }
  // A region's address need not be aligned like its mapping: check where the rings land.
  if (reinterpret_cast<uintptr_t>(desc) % kDescAlign != 0 ||
      reinterpret_cast<uintptr_t>(avail) % kAvailAlign != 0 ||
      reinterpret_cast<uintptr_t>(used) % kUsedAlign != 0) {
    out.fault = RingFault::misaligned;
    return out;
  }
  out.layout.size = size;
  out.layout.desc = reinterpret_cast<VringDesc*>(desc);
  out.layout.avail = reinterpret_cast<VringAvail*>(avail);
  out.layout.used = reinterpret_cast<VringUsed*>(used);
  return out;
}

}  // namespace ringlane::virtio
