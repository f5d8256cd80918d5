// FramePool: the UMEM frames a sender owns and may fill (an AF_XDP socket's transmit frames),
// by address. Frames leave when written into the transmit ring and come back from the completion
// ring. An address that is not one of its frames, or one more frame than it was made with (a
// completion seen twice), is refused and shows as an error instead of corrupting a frame.
#pragma once

#include <cstdint>
#include <memory>

namespace ringlane::uplink {

class FramePool {
 public:
  // Frames first_addr, first_addr + frame_size, ... (count of them), all free.
  FramePool(uint64_t first_addr, uint32_t count, uint32_t frame_size);

  // A free frame's address, or false when none is left.
  bool take(uint64_t& addr) {
    if (free_ == 0) return false;
    addr = stack_[--free_];
    return true;
  }
  // Gives a frame back; false (and nothing changes) for an address that is not one of this
  // pool's frames, or when the pool is already full.
  bool put(uint64_t addr) {
    if (free_ == count_ || addr < first_ || addr >= end_ || (addr - first_) % frame_size_ != 0) {
      return false;
    }
    stack_[free_++] = addr;
    return true;
  }
  uint32_t free_count() const { return free_; }
  uint32_t capacity() const { return count_; }
  // Frames taken and not yet given back (in the rings, or with the kernel).
  uint32_t in_flight() const { return count_ - free_; }

 private:
  std::unique_ptr<uint64_t[]> stack_;
  uint64_t first_;
  uint64_t end_;
  uint32_t count_;
  uint32_t frame_size_;
  uint32_t free_;
};

}  // namespace ringlane::uplink
