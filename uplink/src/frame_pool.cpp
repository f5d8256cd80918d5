#include "ringlane/uplink/frame_pool.h"

namespace ringlane::uplink {

FramePool::FramePool(uint64_t first_addr, uint32_t count, uint32_t frame_size)
    : stack_(std::make_unique<uint64_t[]>(count)),
      first_(first_addr),
      end_(first_addr + uint64_t{count} * frame_size),
      count_(count),
      frame_size_(frame_size),
      free_(count) {
  // Taken lowest address first, so a lightly used pool touches few pages.
  for (uint32_t i = 0; i < count; ++i) stack_[i] = first_ + uint64_t{count - 1 - i} * frame_size;
}

}  // namespace ringlane::uplink
