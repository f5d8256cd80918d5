#include "ringlane/virtio/ring_placement.h"

#include "ringlane/virtio/spec.h"

namespace ringlane::virtio {

namespace {

// Alignment the split ring requires (virtio 1.2 section 2.7).
constexpr uint64_t kDescAlign = 16;
constexpr uint64_t kAvailAlign = 2;
constexpr uint64_t kUsedAlign = 4;

}  // namespace

RingFault place_ring_areas(const GuestMemory& memory, RingAddressSpace space,
                           const RingAddresses& addresses, const RingArea (&areas)[3],
                           uint8_t* (&out)[3]) {
  const uint64_t addr[3] = {addresses.desc, addresses.avail, addresses.used};
  for (int i = 0; i < 3; ++i) {
    if (addr[i] % areas[i].align != 0) return RingFault::misaligned;
  }
  for (int i = 0; i < 3; ++i) {
    out[i] = space == RingAddressSpace::guest_physical
                 ? memory.translate(addr[i], areas[i].bytes)
                 : memory.translate_user_addr(addr[i], areas[i].bytes);
    if (out[i] == nullptr) return RingFault::outside_memory;
  }
  // A region's address need not be aligned like its mapping: check where the rings land.
  for (int i = 0; i < 3; ++i) {
    if (reinterpret_cast<uintptr_t>(out[i]) % areas[i].align != 0) return RingFault::misaligned;
  }
  return RingFault::none;
}

RingPlacement place_split_rings(const GuestMemory& memory, RingAddressSpace space,
                                const RingAddresses& addresses, uint16_t size) {
  RingPlacement out;
  uint8_t* at[3] = {};
  out.fault = place_ring_areas(memory, space, addresses,
                               {{desc_table_bytes(size), kDescAlign},
                                {avail_ring_bytes(size), kAvailAlign},
                                {used_ring_bytes(size), kUsedAlign}},
                               at);
  if (out.fault != RingFault::none) return out;
  out.layout.size = size;
  out.layout.desc = reinterpret_cast<VringDesc*>(at[0]);
  out.layout.avail = reinterpret_cast<VringAvail*>(at[1]);
  out.layout.used = reinterpret_cast<VringUsed*>(at[2]);
  return out;
}

}  // namespace ringlane::virtio
