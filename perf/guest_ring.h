// A guest's memory and one virtqueue inside this process, for the microbenchmarks: GuestRing a
// split ring, GuestPackedRing a packed one, in the same arena layout so that the two compare. The
// benchmark plays the guest driver: it lays out descriptors once, then each iteration offers again
// every buffer the device returned, as a real driver does.
#pragma once

#include <sys/mman.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "ringlane/virtio/guest_memory.h"
#include "ringlane/virtio/packed_queue.h"
#include "ringlane/virtio/spec.h"
#include "ringlane/virtio/split_queue.h"

namespace ringlane::perf {

// The guest memory: rings at the start, then receive/transmit buffers, then source frames.
class GuestArena {
 public:
  static constexpr uint16_t kSize = 256;  // DPDK virtio_user's default queue size
  // A non-zero guest base so a missing translation cannot pass as an identity mapping.
  static constexpr uint64_t kGuestBase = 0x4000'0000;
  static constexpr uint64_t kArenaBytes = 4ull << 20;
  static constexpr uint64_t kDescOffset = 0;
  static constexpr uint64_t kAvailOffset = 4096;      // a packed ring's driver event area
  static constexpr uint64_t kUsedOffset = 8192;       // a packed ring's device event area
  static constexpr uint64_t kIndirectOffset = 16384;  // room for kSize 2-entry tables
  static constexpr uint64_t kBufferOffset = 64 * 1024;
  static constexpr uint64_t kBufferStride = 2048;  // DPDK's mbuf data room
  static constexpr uint64_t kSourceOffset = kBufferOffset + kSize * kBufferStride;

  GuestArena() {
    // Populated up front: page faults would otherwise land in the first iterations.
    void* p = mmap(nullptr, kArenaBytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED) die("mmap");
    host_ = static_cast<uint8_t*>(p);
    virtio::RegionDescriptor region{kGuestBase, kArenaBytes, kGuestBase, 0};
    auto mem = virtio::GuestMemory::create({virtio::MappedRegion::wrap(region, host_)});
    if (!mem) die("virtio::GuestMemory::create");
    mem_ = std::move(*mem);
  }
  ~GuestArena() { munmap(host_, kArenaBytes); }
  GuestArena(const GuestArena&) = delete;
  GuestArena& operator=(const GuestArena&) = delete;

  static uint64_t gpa(uint64_t offset) { return kGuestBase + offset; }
  static uint64_t buffer_offset(uint16_t head) { return kBufferOffset + head * kBufferStride; }
  uint8_t* host(uint64_t offset) { return host_ + offset; }
  const virtio::GuestMemory& memory() const { return mem_; }

  [[noreturn]] static void die(const char* what) {
    std::fprintf(stderr, "guest ring set-up failed: %s\n", what);
    std::abort();
  }

 protected:
  uint8_t* host_ = nullptr;
  virtio::GuestMemory mem_;
};

class GuestRing : public GuestArena {
 public:
  GuestRing() {
    layout_.desc = reinterpret_cast<virtio::VringDesc*>(host_ + kDescOffset);
    layout_.avail = reinterpret_cast<virtio::VringAvail*>(host_ + kAvailOffset);
    layout_.used = reinterpret_cast<virtio::VringUsed*>(host_ + kUsedOffset);
    layout_.size = kSize;
  }

  virtio::VringDesc* desc() { return layout_.desc; }
  virtio::SplitQueue& queue() { return queue_; }

  // Every head is a single descriptor over its own buffer slot of `len` bytes.
  void one_buffer_per_head(uint32_t len, bool device_writes) {
    for (uint16_t i = 0; i < kSize; ++i) {
      layout_.desc[i] = {gpa(buffer_offset(i)), len,
                         static_cast<uint16_t>(device_writes ? virtio::kDescFWrite : 0), 0};
    }
  }

  // Offers all heads, then starts the device side (no call eventfd: nothing is signalled).
  void start() {
    for (uint16_t i = 0; i < kSize; ++i) layout_.avail->ring[i] = i;
    avail_idx_ = kSize;
    __atomic_store_n(&layout_.avail->idx, avail_idx_, __ATOMIC_RELEASE);
    queue_.configure(&mem_, layout_, /*event_idx=*/false, /*indirect=*/true, 0);
    queue_.set_live(true);
  }

  // The driver's half of an iteration: takes what the device put on the used ring and offers
  // those heads again. Returns how many came back; `used_bytes` sums their lengths.
  uint16_t recycle(uint64_t* used_bytes = nullptr) {
    uint16_t used_idx = __atomic_load_n(&layout_.used->idx, __ATOMIC_ACQUIRE);
    auto n = static_cast<uint16_t>(used_idx - last_used_);
    uint16_t mask = kSize - 1;
    uint64_t bytes = 0;
    for (; last_used_ != used_idx; ++last_used_) {
      const virtio::VringUsedElem& e = layout_.used->ring[last_used_ & mask];
      bytes += e.len;
      layout_.avail->ring[avail_idx_++ & mask] = static_cast<uint16_t>(e.id);
    }
    __atomic_store_n(&layout_.avail->idx, avail_idx_, __ATOMIC_RELEASE);
    if (used_bytes) *used_bytes = bytes;
    return n;
  }

 private:
  virtio::RingLayout layout_;
  virtio::SplitQueue queue_;
  uint16_t avail_idx_ = 0;
  uint16_t last_used_ = 0;
};

// The same with a packed ring: buffer id i is always buffer slot i, one descriptor per chain,
// as Linux's and DPDK's drivers use a packed ring with indirect descriptors.
class GuestPackedRing : public GuestArena {
 public:
  GuestPackedRing() {
    layout_.desc = reinterpret_cast<virtio::PackedDesc*>(host_ + kDescOffset);
    layout_.driver_event = reinterpret_cast<virtio::PackedEventSuppress*>(host_ + kAvailOffset);
    layout_.device_event = reinterpret_cast<virtio::PackedEventSuppress*>(host_ + kUsedOffset);
    layout_.size = kSize;
  }

  virtio::PackedQueue& queue() { return queue_; }

  void one_buffer_per_head(uint32_t len, bool device_writes) {
    len_ = len;
    write_ = device_writes ? virtio::kDescFWrite : 0;
  }

  // Offers every buffer (a whole lap), then starts the device side.
  void start() {
    for (uint16_t i = 0; i < kSize; ++i) offer(i);
    queue_.configure(&mem_, layout_, /*event_idx=*/false, /*indirect=*/true,
                     virtio::PackedPosition{});
    queue_.set_live(true);
  }

  // Takes the used descriptors the device wrote and offers their buffers again.
  uint16_t recycle(uint64_t* used_bytes = nullptr) {
    uint16_t n = 0;
    uint64_t bytes = 0;
    for (;;) {
      const virtio::PackedDesc& d = layout_.desc[used_idx_];
      uint16_t flags = __atomic_load_n(&d.flags, __ATOMIC_ACQUIRE);
      bool avail = (flags & virtio::kPackedDescFAvail) != 0;
      bool used = (flags & virtio::kPackedDescFUsed) != 0;
      if (avail != used_wrap_ || used != used_wrap_) break;
      bytes += d.len;
      uint16_t id = d.id;
      if (++used_idx_ == kSize) {
        used_idx_ = 0;
        used_wrap_ = !used_wrap_;
      }
      offer(id);
      ++n;
    }
    if (used_bytes) *used_bytes = bytes;
    return n;
  }

 private:
  // Makes buffer `id` available at the driver's next slot, its flags last.
  void offer(uint16_t id) {
    virtio::PackedDesc& d = layout_.desc[avail_idx_];
    d.addr = gpa(buffer_offset(id));
    d.len = len_;
    d.id = id;
    auto flags = static_cast<uint16_t>(
        write_ | (avail_wrap_ ? virtio::kPackedDescFAvail : virtio::kPackedDescFUsed));
    __atomic_store_n(&d.flags, flags, __ATOMIC_RELEASE);
    if (++avail_idx_ == kSize) {
      avail_idx_ = 0;
      avail_wrap_ = !avail_wrap_;
    }
  }

  virtio::PackedRingLayout layout_;
  virtio::PackedQueue queue_;
  uint32_t len_ = 0;
  uint16_t write_ = 0;
  uint16_t avail_idx_ = 0;
  bool avail_wrap_ = true;
  uint16_t used_idx_ = 0;
  bool used_wrap_ = true;
};

}  // namespace ringlane::perf
