// Where a packed virtqueue's descriptor ring and its two event suppression areas are in our
// mapping of guest memory, checked, and the check made before a packed ring is (re)started at a
// handed-over position: the packed counterparts of ring_placement.h and ring_resume.h, for the
// transports (vhost-user's SET_VRING_ADDR and SET_VRING_BASE, a VMM's queue registers).
#pragma once

#include <cstdint>
#include <optional>

#include "ringlane/base/result.h"
#include "ringlane/virtio/guest_memory.h"
#include "ringlane/virtio/packed_queue.h"
#include "ringlane/virtio/ring_placement.h"

namespace ringlane::virtio {

struct PackedRingPlacement {
  PackedRingLayout layout;  // valid only when fault == RingFault::none
  RingFault fault = RingFault::none;
};

// The three addresses as the transports carry them: `desc` the descriptor ring, `avail` the
// driver area (the driver's event suppression structure), `used` the device area (ours). Virtio
// 1.2 section 2.8.10.1: 16-byte alignment for the ring, 4 for each area. `size` must already be
// checked by the caller (1 to kMaxPackedQueueSize; any value, not only powers of two).
PackedRingPlacement place_packed_rings(const GuestMemory& memory, RingAddressSpace space,
                                       const RingAddresses& addresses, uint16_t size);

// A packed ring keeps no index in guest memory, so a hand-over position can only be checked
// against itself: both indices inside the ring, and (ringlane's devices complete every buffer
// they take before they stop) the used position equal to the avail one.
Status check_packed_resume_position(const PackedPosition& position, uint16_t size);

// The position a packed ring's own flags show, for when the frontend's is stale. QEMU, unable to
// ask a backend that died (GET_VRING_BASE), hands the restarted one the last position it knew,
// which for a packed ring is the one from the ring's start: it has no index in guest memory to
// read, as it has for a split ring. ringlane completes chains in order and completes all it
// takes, so while every chain is one descriptor (a driver with indirect descriptors: Linux's
// virtio_net, DPDK's), the slots before the device's position have the USED bit of its wrap
// counter and the slots from it on the other value. None when the bits do not make exactly that
// picture (chains of several descriptors leave their other slots with the driver's flags).
std::optional<PackedPosition> packed_position_from_ring(const PackedRingLayout& layout);

}  // namespace ringlane::virtio
