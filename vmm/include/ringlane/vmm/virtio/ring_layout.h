// Where a virtqueue's rings are in the VMM's mapping of guest memory, checked: a driver may give
// addresses outside RAM or a bad size, and that must fail activation, not crash the VMM.
#pragma once

#include "ringlane/base/result.h"
#include "ringlane/virtio/guest_memory.h"
#include "ringlane/virtio/split_queue.h"
#include "ringlane/vmm/virtio/virtio_device.h"

namespace ringlane::vmm {

Result<virtio::RingLayout> ring_layout(const virtio::GuestMemory& memory,
                                       const VirtqueueConfig& queue);

}  // namespace ringlane::vmm
