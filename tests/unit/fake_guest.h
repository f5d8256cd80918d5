// FakeGuest and FakeRing: guest memory and split virtqueues laid out the way a virtio driver
// would, so the device side can be driven without a VM. Tests play the driver: they write
// descriptors and avail entries and read back the used ring.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "ringlane/base/unique_fd.h"
#include "ringlane/virtio/guest_memory.h"
#include "ringlane/virtio/spec.h"
#include "ringlane/virtio/split_queue.h"

namespace ringlane::virtio {

struct GuestRegion {
  uint64_t gpa;
  uint64_t size;
};

// heap: regions are separate heap blocks wrapped with MappedRegion::wrap (adjacent guest
// regions are not adjacent in host memory). memfd: one memfd holds every region and each is
// mapped with MappedRegion::map, the path the backend takes.
enum class Backing { heap, memfd };

class FakeGuest {
 public:
  // The frontend's virtual address of a byte is its guest address plus this.
  static constexpr uint64_t kUserAddrOffset = 0x7f0000000000;
  static constexpr uint64_t kDefaultBase = 0x100000;
  static constexpr uint64_t kDefaultSize = 1 << 20;

  explicit FakeGuest(std::vector<GuestRegion> regions = {{kDefaultBase, kDefaultSize}},
                     Backing backing = Backing::heap);
  FakeGuest(const FakeGuest&) = delete;
  FakeGuest& operator=(const FakeGuest&) = delete;

  const GuestMemory& memory() const { return memory_; }
  const std::vector<RegionDescriptor>& regions() const { return descriptors_; }
  // The memfd holding all regions (memfd backing only), for SET_MEM_TABLE / ADD_MEM_REG.
  int fd() const { return fd_.get(); }

  // Host pointer to [gpa, gpa+len), which must lie in one region (fails the test otherwise).
  uint8_t* host(uint64_t gpa, uint64_t len = 1) const;
  uint64_t user_addr(uint64_t gpa) const { return gpa + kUserAddrOffset; }

  // Bump allocator over guest physical space; never crosses a region boundary.
  uint64_t alloc(uint64_t bytes, uint64_t align = 64);
  // Byte copies that may cross adjacent regions.
  void write(uint64_t gpa, const void* src, uint64_t len);
  void read(uint64_t gpa, void* dst, uint64_t len) const;
  std::vector<uint8_t> read(uint64_t gpa, uint64_t len) const;
  // Copies `bytes` into freshly allocated guest memory and returns the address.
  uint64_t put(const std::vector<uint8_t>& bytes);

 private:
  struct HeapFree {
    void operator()(uint8_t* p) const;
  };
  std::vector<RegionDescriptor> descriptors_;
  std::vector<std::unique_ptr<uint8_t, HeapFree>> heap_;
  UniqueFd fd_;
  GuestMemory memory_;
  size_t alloc_region_ = 0;
  uint64_t alloc_next_ = 0;
};

// A buffer for a descriptor chain.
struct Buf {
  uint64_t gpa;
  uint32_t len;
  bool writable = false;
};

class FakeRing {
 public:
  FakeRing(FakeGuest& guest, uint16_t size);

  uint16_t size() const { return size_; }
  uint64_t desc_gpa() const { return desc_gpa_; }
  uint64_t avail_gpa() const { return avail_gpa_; }
  uint64_t used_gpa() const { return used_gpa_; }
  // The rings as seen through the fake guest's own mapping of its memory.
  RingLayout layout() const;

  virtio::VringDesc& desc(uint16_t index) const;
  void set_desc(uint16_t index, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next) const;
  // Writes a chain into the next free descriptor slots and returns its head.
  uint16_t add_chain(const std::vector<Buf>& bufs);
  // Writes an indirect table holding `bufs` into guest memory, and one ring descriptor
  // pointing at it; returns that descriptor's index.
  uint16_t add_indirect(const std::vector<Buf>& bufs);
  // Takes `count` descriptor slots without writing them (for hand-made chains).
  uint16_t reserve(uint16_t count);

  // Driver side of the avail ring.
  void publish(uint16_t head);
  void set_avail_idx(uint16_t idx) const;
  uint16_t avail_idx() const;
  void set_avail_flags(uint16_t flags) const;
  void set_used_event(uint16_t value) const;

  // The used index as an earlier device left it (for hand-over tests).
  void set_used_idx(uint16_t idx) const;
  // Driver's view of the used ring.
  uint16_t used_idx() const;
  uint16_t used_flags() const;
  uint16_t avail_event() const;
  // The used element written for the n-th completion (n counts from 0, wraps with the ring).
  virtio::VringUsedElem used(uint16_t n) const;

 private:
  FakeGuest& guest_;
  uint16_t size_;
  uint64_t desc_gpa_;
  uint64_t avail_gpa_;
  uint64_t used_gpa_;
  uint16_t next_desc_ = 0;
};

}  // namespace ringlane::virtio
