#include "ringlane/virtio/packed_queue.h"

#include <cstring>

#include "ringlane/base/event_fd.h"
#include "ringlane/base/log.h"

namespace ringlane::virtio {

namespace {

// A descriptor is the device's when its AVAIL bit equals the wrap counter the device expects
// there and its USED bit does not (virtio 1.2 section 2.8.1).
bool is_available(uint16_t flags, bool wrap) {
  return ((flags & kPackedDescFAvail) != 0) == wrap && ((flags & kPackedDescFUsed) != 0) != wrap;
}

// Moves a ring position on by `n` (at most the ring size), flipping the wrap counter at the end.
void advance(uint16_t& idx, bool& wrap, uint32_t n, uint16_t size) {
  uint32_t next = idx + n;
  if (next >= size) {
    next -= size;
    wrap = !wrap;
  }
  idx = static_cast<uint16_t>(next);
}

}  // namespace

uint32_t PackedPosition::to_vring_base() const {
  return uint32_t{avail_idx & 0x7fffu} | uint32_t{avail_wrap} << 15 |
         uint32_t{used_idx & 0x7fffu} << 16 | uint32_t{used_wrap} << 31;
}

PackedPosition PackedPosition::from_vring_base(uint32_t value) {
  PackedPosition p;
  p.avail_idx = static_cast<uint16_t>(value & 0x7fff);
  p.avail_wrap = (value >> 15) & 1;
  if ((value >> 16) == 0) {
    p.used_idx = p.avail_idx;
    p.used_wrap = p.avail_wrap;
  } else {
    p.used_idx = static_cast<uint16_t>((value >> 16) & 0x7fff);
    p.used_wrap = (value >> 31) & 1;
  }
  return p;
}

void PackedQueue::configure(const GuestMemory* mem, PackedRingLayout layout, bool event_idx,
                            bool indirect, PackedPosition start) {
  mem_ = mem;
  layout_ = layout;
  event_idx_ = event_idx;
  indirect_ = indirect;
  // An index past the ring (a stale or hostile hand-over) would be read as an offset into it.
  uint16_t size = layout.size == 0 ? 1 : layout.size;
  next_idx_ = static_cast<uint16_t>(start.avail_idx % size);
  next_wrap_ = start.avail_wrap;
  used_idx_ = static_cast<uint16_t>(start.used_idx % size);
  used_wrap_ = start.used_wrap;
  signalled_ = linear(used_idx_, used_wrap_);
  in_flight_descs_ = 0;
  copies_.assign(layout.size, PackedDesc{});
  chains_.assign(layout.size, Chain{});
  ids_.assign(layout.size, IdSlot{});
  pending_.assign(layout.size, Pending{});
  pending_count_ = 0;
  copied_ = 0;
  found_ = 0;
  scan_idx_ = next_idx_;
  scan_wrap_ = next_wrap_;
  // We busy-poll, so the driver need not kick us.
  if (layout.device_event != nullptr) {
    __atomic_store_n(&layout.device_event->off_wrap, uint16_t{0}, __ATOMIC_RELAXED);
    __atomic_store_n(&layout.device_event->flags, kRingEventFlagsDisable, __ATOMIC_RELAXED);
  }
}

uint16_t PackedQueue::find_chains(uint16_t want) {
  const uint16_t size = layout_.size;
  if (size == 0) return 0;
  if (found_ == 0) prefetch_avail_slots(want);
  while (found_ < want) {
    uint16_t idx = scan_idx_;
    bool wrap = scan_wrap_;
    // Slots the driver can have made available: the ring less what we hold or found already.
    uint32_t room = size - in_flight_descs_ - copied_;
    uint16_t first = copied_;
    uint16_t n = 0;
    for (;;) {
      PackedDesc* slot = &layout_.desc[idx];
      if (n == room && n != 0) {
        // The chain goes on (NEXT) where no slot is left for it.
        break_ring("the chain starting at descriptor " + std::to_string(scan_idx_) +
                   (room == size ? " is longer than the queue"
                                 : " is longer than the free part of the ring"));
        return found_;
      }
      // The driver writes a chain's first flags last (release): acquire them before the rest.
      uint16_t flags = __atomic_load_n(&slot->flags, __ATOMIC_ACQUIRE);
      if (!is_available(flags, wrap)) {
        if (n == 0) return found_;  // nothing more yet
        // The driver must make the rest of a chain available before its first descriptor.
        break_ring("descriptor " + std::to_string(idx) + " of the chain starting at " +
                   std::to_string(scan_idx_) + " is not available");
        return found_;
      }
      if (n == room) {
        // Every slot is ours or in a chain found already: the driver made one available again.
        break_ring("descriptor " + std::to_string(idx) +
                   " made available while the device holds it");
        return found_;
      }
      PackedDesc& copy = copies_[first + n];
      std::memcpy(&copy, static_cast<const void*>(slot), sizeof(copy));
      copy.flags = flags;  // the value checked, whatever the driver wrote since
      ++n;
      advance(idx, wrap, 1, size);
      if (!(flags & kDescFNext)) break;
    }
    uint16_t id = copies_[first + n - 1].id;
    if (id >= size) {
      break_ring("buffer id " + std::to_string(id) + " out of range (queue size " +
                 std::to_string(size) + ")");
      return found_;
    }
    IdSlot& slot = ids_[id];
    if (slot.state != IdState::free) {
      break_ring("buffer id " + std::to_string(id) +
                 (slot.state == IdState::in_flight ? " made available while in flight"
                                                   : " made available twice"));
      return found_;
    }
    slot = IdSlot{n, found_, IdState::found};
    chains_[found_] = Chain{first, n, id};
    copied_ = static_cast<uint16_t>(copied_ + n);
    ++found_;
    scan_idx_ = idx;
    scan_wrap_ = wrap;
  }
  return found_;
}

void PackedQueue::consume(uint16_t n) {
  n = std::min(n, found_);
  for (uint16_t k = 0; k < n; ++k) ids_[chains_[k].id].state = IdState::in_flight;
  for (uint16_t k = n; k < found_; ++k) ids_[chains_[k].id].state = IdState::free;
  // The chains' copies are contiguous: the first n took everything before the next one's.
  uint32_t taken = n < found_ ? chains_[n].first : copied_;
  in_flight_descs_ += taken;
  advance(next_idx_, next_wrap_, taken, layout_.size);
  found_ = 0;
  copied_ = 0;
  scan_idx_ = next_idx_;
  scan_wrap_ = next_wrap_;
}

void PackedQueue::publish_used() {
  if (pending_count_ == 0) return;
  uint16_t idx = used_idx_;
  bool wrap = used_wrap_;
  // First pass: each used descriptor's id and length, where it goes and its flags (kept in the
  // pending entries, compacted to those written).
  uint32_t written = 0;
  for (uint32_t i = 0; i < pending_count_; ++i) {
    Pending p = pending_[i];
    // Only a chain we hold is ours to complete; anything else is a caller's mistake.
    if (p.id >= layout_.size || ids_[p.id].state != IdState::in_flight) [[unlikely]]
      continue;
    IdSlot& s = ids_[p.id];
    PackedDesc& d = layout_.desc[idx];
    d.id = p.id;
    d.len = p.len;
    // The length means something to the driver only with WRITE: set where we wrote.
    p.slot = idx;
    p.flags = static_cast<uint16_t>((wrap ? kPackedDescFAvail | kPackedDescFUsed : 0) |
                                    (p.len != 0 ? kDescFWrite : 0));
    pending_[written++] = p;
    in_flight_descs_ -= s.descs;
    s.state = IdState::free;
    advance(idx, wrap, s.descs, layout_.size);
  }
  pending_count_ = 0;
  if (written == 0) return;
  // Ids and lengths before any flags; the first descriptor's flags after all the others, so the
  // driver, which reads in ring order, finds the whole batch once it finds the first.
  __atomic_thread_fence(__ATOMIC_RELEASE);
  for (uint32_t i = 1; i < written; ++i) {
    __atomic_store_n(&layout_.desc[pending_[i].slot].flags, pending_[i].flags, __ATOMIC_RELAXED);
  }
  __atomic_store_n(&layout_.desc[pending_[0].slot].flags, pending_[0].flags, __ATOMIC_RELEASE);
  used_idx_ = idx;
  used_wrap_ = wrap;
  if (const DirtyLog* log = dirty_log_.load(std::memory_order_relaxed)) [[unlikely]] {
    stats_.dirty_pages.add(log_rings(*log));
  }
  if (call_fd_ >= 0 && guest_wants_interrupt()) notify_guest();
}

bool PackedQueue::guest_wants_interrupt() {
  // The used descriptors must be visible before we read the driver's wishes: a driver turns
  // interrupts on, then looks at the ring again, and one side must see the other's write or the
  // wake-up is lost.
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  uint32_t before = signalled_;
  uint32_t now = linear(used_idx_, used_wrap_);
  signalled_ = now;
  uint16_t flags =
      __atomic_load_n(&layout_.driver_event->flags, __ATOMIC_RELAXED) & kRingEventFlagsMask;
  if (flags == kRingEventFlagsDisable) return false;
  // ENABLE, the reserved value, or DESC where EVENT_IDX gives it no meaning: interrupt.
  if (flags != kRingEventFlagsDesc || !event_idx_) return true;
  uint16_t off_wrap = __atomic_load_n(&layout_.driver_event->off_wrap, __ATOMIC_RELAXED);
  uint32_t event = linear(static_cast<uint16_t>(off_wrap & ~kRingEventWrapBit),
                          (off_wrap & kRingEventWrapBit) != 0);
  // Interrupt when the descriptor the driver named is among those written since the last
  // decision: [before, now), counted around a ring of two laps.
  uint32_t laps = 2u * layout_.size;
  return (event + laps - before) % laps < (now + laps - before) % laps;
}

void PackedQueue::set_dirty_log(const DirtyLog* log) {
  dirty_log_.store(log, std::memory_order_release);
  if (log != nullptr && mem_ != nullptr) log_rings(*log);
}

uint64_t PackedQueue::log_rings(const DirtyLog& log) const {
  uint64_t added = log.mark_host(*mem_, reinterpret_cast<const uint8_t*>(layout_.desc),
                                 packed_ring_bytes(layout_.size));
  if (layout_.device_event != nullptr) {
    added += log.mark_host(*mem_, reinterpret_cast<const uint8_t*>(layout_.device_event),
                           sizeof(PackedEventSuppress));
  }
  return added;
}

bool PackedQueue::enable_kicks() {
  __atomic_store_n(&layout_.device_event->flags, kRingEventFlagsEnable, __ATOMIC_RELAXED);
  if (const DirtyLog* log = dirty_log_.load(std::memory_order_relaxed)) [[unlikely]] {
    stats_.dirty_pages.add(log_rings(*log));
  }
  // Our store before the look at the ring: the driver makes a descriptor available and then
  // reads our flags, so one of the two sides sees the other's write.
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  uint16_t flags = __atomic_load_n(&layout_.desc[next_idx_].flags, __ATOMIC_ACQUIRE);
  return is_available(flags, next_wrap_);
}

void PackedQueue::disable_kicks() {
  __atomic_store_n(&layout_.device_event->flags, kRingEventFlagsDisable, __ATOMIC_RELAXED);
  if (const DirtyLog* log = dirty_log_.load(std::memory_order_relaxed)) [[unlikely]] {
    stats_.dirty_pages.add(log_rings(*log));
  }
}

uint16_t PackedQueue::occupancy() const {
  if (!live() || layout_.desc == nullptr || layout_.size == 0) return 0;
  // The worker moves the position; a stale or torn reading only skews a statistic.
  uint16_t idx = __atomic_load_n(&next_idx_, __ATOMIC_RELAXED) % layout_.size;
  bool wrap = __atomic_load_n(&next_wrap_, __ATOMIC_RELAXED);
  uint16_t count = 0;
  while (count < layout_.size &&
         is_available(__atomic_load_n(&layout_.desc[idx].flags, __ATOMIC_RELAXED), wrap)) {
    ++count;
    advance(idx, wrap, 1, layout_.size);
  }
  return count;
}

void PackedQueue::notify_guest() {
  signal_event_fd(call_fd_);
  stats_.notifications.inc();
}

void PackedQueue::mark_broken(ChainStatus status, uint16_t id) {
  mark_broken(to_string(status), id);
}

void PackedQueue::mark_broken(const char* reason, uint16_t id) {
  stats_.ring_errors.inc();
  if (broken_.exchange(true, std::memory_order_relaxed)) return;
  log_broken(std::string(reason) + " (buffer id " + std::to_string(id) + ")");
  if (err_fd_ >= 0) signal_event_fd(err_fd_);
}

void PackedQueue::break_ring(const std::string& reason) {
  stats_.ring_errors.inc();
  if (broken_.exchange(true, std::memory_order_relaxed)) return;
  log_broken(reason);
  if (err_fd_ >= 0) signal_event_fd(err_fd_);
}

void PackedQueue::log_broken(const std::string& reason) const {
  std::string prefix = label_.empty() ? std::string() : label_ + ": ";
  log_limit_.log(LogLevel::warn, prefix + "virtqueue broken: " + reason);
}

}  // namespace ringlane::virtio
