#include "ringlane/vmm/virtio/ring_layout.h"

#include "ringlane/virtio/ring_placement.h"

namespace ringlane::vmm {

Result<virtio::RingLayout> ring_layout(const virtio::GuestMemory& memory,
                                       const VirtqueueConfig& queue) {
  uint32_t size = queue.size;
  if (!queue.enabled) return Error(EINVAL, "virtqueue not enabled");
  if (size == 0 || (size & (size - 1)) != 0 || size > virtio::kMaxQueueSize) {
    return Error(EINVAL, "virtqueue size " + std::to_string(size) + " is not a power of two");
  }
  virtio::RingPlacement placed =
      virtio::place_split_rings(memory, virtio::RingAddressSpace::guest_physical,
                                {queue.desc, queue.avail, queue.used}, static_cast<uint16_t>(size));
  switch (placed.fault) {
    case virtio::RingFault::none:
      return placed.layout;
    case virtio::RingFault::misaligned:
      return Error(EINVAL, "virtqueue rings misaligned");
    case virtio::RingFault::outside_memory:
      break;
  }
  return Error(EFAULT, "virtqueue rings outside guest memory");
}

}  // namespace ringlane::vmm
