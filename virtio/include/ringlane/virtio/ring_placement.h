// Where a split virtqueue's three rings are in our mapping of guest memory, checked: a driver (or
// a vhost-user frontend) chooses the addresses, and a ring that is misaligned or not wholly inside
// one region must fail the queue's start, never be touched. Shared by every transport: the VMM
// gives guest-physical addresses, a vhost-user frontend its own virtual addresses.
#pragma once

#include <cstdint>

#include "ringlane/virtio/guest_memory.h"
#include "ringlane/virtio/split_queue.h"

namespace ringlane::virtio {

// Which address space the ring addresses are in.
enum class RingAddressSpace : uint8_t { guest_physical, frontend_virtual };

struct RingAddresses {
  uint64_t desc = 0;
  uint64_t avail = 0;
  uint64_t used = 0;
};

enum class RingFault : uint8_t {
  none,
  misaligned,      // an address (or where it lands in our mapping) breaks the split ring's
                   // alignment: 16 bytes for the table, 2 for avail, 4 for used
  outside_memory,  // a ring is not wholly inside one region of guest memory
};

struct RingPlacement {
  RingLayout layout;  // valid only when fault == RingFault::none
  RingFault fault = RingFault::none;
};

// One of a ring's three areas, as found in memory: how long it is and how it must be aligned.
struct RingArea {
  uint64_t bytes;
  uint64_t align;
};

// Translates `addresses` (desc, avail, used) to our mapping, each area wholly inside one region
// and aligned as `areas` says, both as an address and where it lands. Fills `out` on success;
// the fault otherwise. Both ring kinds place their areas through it.
RingFault place_ring_areas(const GuestMemory& memory, RingAddressSpace space,
                           const RingAddresses& addresses, const RingArea (&areas)[3],
                           uint8_t* (&out)[3]);

// `size` must already be checked (a power of two, at most kMaxQueueSize) by the caller, which
// knows how to word that error for its transport.
RingPlacement place_split_rings(const GuestMemory& memory, RingAddressSpace space,
                                const RingAddresses& addresses, uint16_t size);

}  // namespace ringlane::virtio
