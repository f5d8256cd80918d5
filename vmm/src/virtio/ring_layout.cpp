#include "ringlane/vmm/virtio/ring_layout.h"

namespace ringlane::vmm {

Result<virtio::RingLayout> ring_layout(const virtio::GuestMemory& memory,
                                       const VirtqueueConfig& queue) {
  uint32_t size = queue.size;
  if (!queue.enabled) return Error(EINVAL, "virtqueue not enabled");
  if (size == 0 || (size & (size - 1)) != 0 || size > virtio::kMaxQueueSize) {
    return Error(EINVAL, "virtqueue size " + std::to_string(size) + " is not a power of two");
  }
  // Alignment the split ring requires (virtio 1.2 section 2.7): 16, 2 and 4 bytes.
  if (queue.desc % 16 != 0 || queue.avail % 2 != 0 || queue.used % 4 != 0) {
    return Error(EINVAL, "virtqueue rings misaligned");
  }
  virtio::RingLayout layout;
  layout.size = static_cast<uint16_t>(size);
  layout.desc = reinterpret_cast<virtio::VringDesc*>(
      memory.translate(queue.desc, virtio::desc_table_bytes(size)));
  layout.avail = reinterpret_cast<virtio::VringAvail*>(
      memory.translate(queue.avail, virtio::avail_ring_bytes(size)));
  layout.used = reinterpret_cast<virtio::VringUsed*>(
      memory.translate(queue.used, virtio::used_ring_bytes(size)));
  if (layout.desc == nullptr || layout.avail == nullptr || layout.used == nullptr) {
    return Error(EFAULT, "virtqueue rings outside guest memory");
  }
  return layout;
}

}  // namespace ringlane::vmm
