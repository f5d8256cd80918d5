#include "fake_packed_ring.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace ringlane::virtio {

namespace {

// A broken fixture must not let a test scribble over the heap: fail loudly instead.
[[noreturn]] void fixture_error(const char* what) {
  std::fprintf(stderr, "fake packed ring: %s\n", what);
  std::abort();
}

}  // namespace

FakePackedRing::FakePackedRing(FakeGuest& guest, uint16_t size)
    : guest_(guest), size_(size), free_slots_(size), chain_len_(size, 0) {
  // Alignments as the spec requires (16 for the ring, 4 for the event areas).
  desc_gpa_ = guest.alloc(packed_ring_bytes(size), 4096);
  driver_event_gpa_ = guest.alloc(sizeof(PackedEventSuppress), 4);
  device_event_gpa_ = guest.alloc(sizeof(PackedEventSuppress), 4);
}

PackedRingLayout FakePackedRing::layout() const {
  PackedRingLayout l;
  l.desc = reinterpret_cast<PackedDesc*>(guest_.host(desc_gpa_, packed_ring_bytes(size_)));
  l.driver_event = reinterpret_cast<PackedEventSuppress*>(
      guest_.host(driver_event_gpa_, sizeof(PackedEventSuppress)));
  l.device_event = reinterpret_cast<PackedEventSuppress*>(
      guest_.host(device_event_gpa_, sizeof(PackedEventSuppress)));
  l.size = size_;
  return l;
}

PackedDesc& FakePackedRing::desc(uint16_t index) const {
  if (index >= size_) fixture_error("descriptor index out of range");
  return layout().desc[index];
}

void FakePackedRing::write_desc(uint16_t index, uint64_t addr, uint32_t len, uint16_t id,
                                uint16_t flags) const {
  PackedDesc& d = desc(index);
  d.addr = addr;
  d.len = len;
  d.id = id;
  __atomic_store_n(&d.flags, flags, __ATOMIC_RELEASE);
}

void FakePackedRing::advance_avail() {
  if (++next_avail_ == size_) {
    next_avail_ = 0;
    avail_wrap_ = !avail_wrap_;
  }
}

void FakePackedRing::skip(uint16_t descs) {
  for (uint16_t i = 0; i < descs; ++i) advance_avail();
}

uint16_t FakePackedRing::take_id() {
  for (uint16_t id = 0; id < size_; ++id) {
    if (chain_len_[id] == 0) return id;
  }
  fixture_error("no free buffer id");
}

uint16_t FakePackedRing::offer(const std::vector<Buf>& bufs) {
  if (bufs.empty() || bufs.size() > free_slots_) fixture_error("no room for the chain");
  uint16_t id = take_id();
  uint16_t head = next_avail_;
  uint16_t head_flags = 0;
  for (size_t i = 0; i < bufs.size(); ++i) {
    bool last = i + 1 == bufs.size();
    auto flags = static_cast<uint16_t>(avail_flags() | (last ? 0 : kDescFNext) |
                                       (bufs[i].writable ? kDescFWrite : 0));
    if (i == 0) {
      // Everything but the first descriptor's flags now; those last, below.
      head_flags = flags;
      PackedDesc& d = desc(head);
      d.addr = bufs[i].gpa;
      d.len = bufs[i].len;
      d.id = id;
    } else {
      write_desc(next_avail_, bufs[i].gpa, bufs[i].len, id, flags);
    }
    advance_avail();
  }
  __atomic_store_n(&desc(head).flags, head_flags, __ATOMIC_RELEASE);
  chain_len_[id] = static_cast<uint16_t>(bufs.size());
  free_slots_ = static_cast<uint16_t>(free_slots_ - bufs.size());
  return id;
}

uint16_t FakePackedRing::offer_indirect(const std::vector<Buf>& bufs) {
  if (free_slots_ == 0) fixture_error("no room for the chain");
  std::vector<PackedDesc> table(bufs.size());
  for (size_t i = 0; i < bufs.size(); ++i) {
    table[i] = PackedDesc{bufs[i].gpa, bufs[i].len, 0,
                          static_cast<uint16_t>(bufs[i].writable ? kDescFWrite : 0)};
  }
  uint64_t bytes = table.size() * sizeof(PackedDesc);
  uint64_t table_gpa = guest_.alloc(bytes, 16);
  guest_.write(table_gpa, table.data(), bytes);
  uint16_t id = take_id();
  write_desc(next_avail_, table_gpa, static_cast<uint32_t>(bytes), id,
             static_cast<uint16_t>(avail_flags() | kDescFIndirect));
  advance_avail();
  chain_len_[id] = 1;
  --free_slots_;
  return id;
}

std::optional<FakePackedRing::Used> FakePackedRing::take_used() {
  PackedDesc& d = desc(last_used_);
  uint16_t flags = __atomic_load_n(&d.flags, __ATOMIC_ACQUIRE);
  bool avail = (flags & kPackedDescFAvail) != 0;
  bool used = (flags & kPackedDescFUsed) != 0;
  if (avail != used || used != used_wrap_) return std::nullopt;
  Used u{d.id, d.len, flags};
  if (u.id >= size_ || chain_len_[u.id] == 0) fixture_error("device used an id not offered");
  uint16_t len = chain_len_[u.id];
  chain_len_[u.id] = 0;
  free_slots_ = static_cast<uint16_t>(free_slots_ + len);
  uint32_t next = uint32_t{last_used_} + len;
  if (next >= size_) {
    next -= size_;
    used_wrap_ = !used_wrap_;
  }
  last_used_ = static_cast<uint16_t>(next);
  return u;
}

void FakePackedRing::set_driver_event(uint16_t flags, uint16_t off_wrap) const {
  PackedEventSuppress* e = layout().driver_event;
  e->off_wrap = off_wrap;
  __atomic_store_n(&e->flags, flags, __ATOMIC_RELEASE);
}

PackedEventSuppress FakePackedRing::device_event() const {
  PackedEventSuppress e;
  std::memcpy(&e, layout().device_event, sizeof(e));
  return e;
}

}  // namespace ringlane::virtio
