// FakePackedRing: a packed virtqueue in a FakeGuest's memory driven the way a virtio driver
// drives one, so the device side (PackedQueue) can be tested without a VM. Tests play the
// driver: they offer buffers (each chain's first descriptor made available last), read used
// descriptors back in ring order, and set the driver's event suppression area. Low-level writes
// let a test break the protocol on purpose.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "fake_guest.h"
#include "ringlane/virtio/packed_queue.h"
#include "ringlane/virtio/spec.h"

namespace ringlane::virtio {

class FakePackedRing {
 public:
  FakePackedRing(FakeGuest& guest, uint16_t size);

  uint16_t size() const { return size_; }
  uint64_t desc_gpa() const { return desc_gpa_; }
  uint64_t driver_event_gpa() const { return driver_event_gpa_; }
  uint64_t device_event_gpa() const { return device_event_gpa_; }
  // The ring as seen through the fake guest's own mapping of its memory.
  PackedRingLayout layout() const;

  // Offers `bufs` as one chain at the next avail position under a fresh buffer id (the lowest
  // free one) and returns the id. Fails the test when the ring has no room.
  uint16_t offer(const std::vector<Buf>& bufs);
  // Offers one INDIRECT descriptor pointing to a table holding `bufs`.
  uint16_t offer_indirect(const std::vector<Buf>& bufs);
  // Free descriptor slots, as the driver counts them.
  uint16_t free_slots() const { return free_slots_; }

  // The flags that make a descriptor available in the driver's current lap (or the given one).
  uint16_t avail_flags() const { return avail_flags(avail_wrap_); }
  static uint16_t avail_flags(bool wrap) { return wrap ? kPackedDescFAvail : kPackedDescFUsed; }
  // Raw access for hand-made (and protocol-breaking) rings.
  PackedDesc& desc(uint16_t index) const;
  void write_desc(uint16_t index, uint64_t addr, uint32_t len, uint16_t id, uint16_t flags) const;
  // The driver's next avail position; a test writing raw descriptors moves it with skip().
  uint16_t next_avail() const { return next_avail_; }
  bool avail_wrap() const { return avail_wrap_; }
  void skip(uint16_t descs);

  // A used descriptor as the driver reads it.
  struct Used {
    uint16_t id;
    uint32_t len;
    uint16_t flags;
  };
  // The next used descriptor, if the device wrote it; frees its id and slots (the chain length
  // the driver recorded for that id).
  std::optional<Used> take_used();
  uint16_t last_used() const { return last_used_; }
  bool used_wrap() const { return used_wrap_; }

  void set_driver_event(uint16_t flags, uint16_t off_wrap = 0) const;
  PackedEventSuppress device_event() const;

 private:
  uint16_t take_id();
  void advance_avail();

  FakeGuest& guest_;
  uint16_t size_;
  uint64_t desc_gpa_;
  uint64_t driver_event_gpa_;
  uint64_t device_event_gpa_;
  uint16_t next_avail_ = 0;
  bool avail_wrap_ = true;
  uint16_t last_used_ = 0;
  bool used_wrap_ = true;
  uint16_t free_slots_;
  std::vector<uint16_t> chain_len_;  // by id; 0 while the id is free
};

}  // namespace ringlane::virtio
