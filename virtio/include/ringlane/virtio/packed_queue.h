// PackedQueue: the device side of one packed virtqueue (virtio 1.2 section 2.8), shaped like
// SplitQueue so that the same burst functions drive either. The control thread configures it
// while it is stopped; while it is live exactly one worker at a time touches it, with no locks.
//
// A packed ring has no avail index to read: the worker finds chains by scanning descriptors from
// the next one it has not taken, comparing their AVAIL/USED flags with its wrap counter. Each
// descriptor is copied once into the queue's own memory as it is found (`avail_count`), and
// everything after that (the walk, the buffer id, the chain's length) uses the copy, so a driver
// that rewrites a descriptor it made available cannot make us read two different things. Chains
// are then named by their buffer id where SplitQueue's burst functions use a head: `head_at`,
// `walk`, `put_used` and `mark_broken` take the id.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ringlane/base/log_limit.h"
#include "ringlane/base/prefetch.h"
#include "ringlane/virtio/desc_chain.h"
#include "ringlane/virtio/dirty_log.h"
#include "ringlane/virtio/guest_memory.h"
#include "ringlane/virtio/packed_chain.h"
#include "ringlane/virtio/queue_stats.h"
#include "ringlane/virtio/spec.h"

namespace ringlane::virtio {

struct PackedRingLayout {
  PackedDesc* desc = nullptr;
  PackedEventSuppress* driver_event = nullptr;  // the driver's wishes: our used notifications
  PackedEventSuppress* device_event = nullptr;  // ours: the driver's kicks
  uint16_t size = 0;                            // 1 to 32768, not necessarily a power of two
};

// Where a packed ring stands: the next descriptor the device reads and the next one it writes a
// used descriptor to, each with its wrap counter. Neither is in guest memory, so a hand-over
// carries both (vhost-user's SET/GET_VRING_BASE).
struct PackedPosition {
  uint16_t avail_idx = 0;  // 0 .. size-1
  bool avail_wrap = true;  // both counters start at 1
  uint16_t used_idx = 0;
  bool used_wrap = true;

  // vhost-user's value: the avail index in bits 0-14, its wrap counter in bit 15, the used index
  // in bits 16-30 and its wrap counter in bit 31.
  uint32_t to_vring_base() const;
  // The reverse. A frontend that sends only the avail half (bits 16-31 zero, as older frontends
  // do) gets the used position equal to it, which is where a device that completes everything
  // it takes before it stops (every ringlane device) has left it. A used position of index 0 in
  // an odd lap also reads as zero bits, and then the avail one is the same anyway.
  static PackedPosition from_vring_base(uint32_t value);
  bool operator==(const PackedPosition&) const = default;
};

class PackedQueue {
 public:
  // --- control thread, while the queue is not live -----------------------------------------
  // Allocates the queue's own tables (by `layout.size`) and starts at `start`. `layout` must be
  // checked already: every descriptor and both event areas inside guest memory.
  void configure(const GuestMemory* mem, PackedRingLayout layout, bool event_idx, bool indirect,
                 PackedPosition start);
  void set_call_fd(int fd) { call_fd_ = fd; }
  void set_err_fd(int fd) { err_fd_ = fd; }
  // The eventfd the driver kicks; a worker that sleeps waits on it (-1: none, a polled ring).
  void set_kick_fd(int fd) { kick_fd_ = fd; }
  // Names the queue in its log lines, as SplitQueue::set_label.
  void set_label(std::string label) { label_ = std::move(label); }
  void set_live(bool live) { live_.store(live, std::memory_order_release); }
  void clear_broken() { broken_.store(false, std::memory_order_relaxed); }
  // The dirty log of a migration, or null (see SplitQueue::set_dirty_log: any thread).
  void set_dirty_log(const DirtyLog* log);
  // Where a restart must resume (configure's `start`): after a stop, the next descriptor not
  // taken and the next used slot. Chains found but not consumed are not counted as taken.
  PackedPosition position() const {
    return PackedPosition{next_idx_, next_wrap_, used_idx_, used_wrap_};
  }

  // --- any thread --------------------------------------------------------------------------
  bool live() const { return live_.load(std::memory_order_acquire); }
  bool broken() const { return broken_.load(std::memory_order_relaxed); }
  // Worker-side check before each burst: live and not broken.
  bool serving() const { return live() && !broken(); }
  const QueueStats& stats() const { return stats_; }
  QueueStats& stats() { return stats_; }
  uint16_t size() const { return layout_.size; }
  const std::string& label() const { return label_; }
  int kick_fd() const { return kick_fd_; }
  // Descriptors the driver made available that the device has not taken, as a reading for
  // statistics (any thread; 0 unless live, at most the ring size whatever the guest wrote). A
  // scan of the ring from the device's position: the packed ring keeps no count.
  uint16_t occupancy() const;

  // --- the serving worker ------------------------------------------------------------------
  // Finds available chains, up to `want` of them, and returns how many were found in all since
  // the last consume() (it may be asked again for more). A chain that breaks the ring protocol
  // (below) breaks the queue; the chains found before it are still served.
  uint16_t avail_count(uint16_t want) {
    if (found_ >= want || broken()) return found_;
    return find_chains(want);
  }
  // The buffer id of the chain `offset` chains past the last consumed one (offset < found).
  uint16_t head_at(uint16_t offset) const { return chains_[offset].id; }
  // Starts loading the ring lines the next `n` descriptors are on: the packed ring is descriptor
  // table and avail ring in one. (always_inline: see prefetch_descs.)
  [[gnu::always_inline]] void prefetch_avail_slots(uint16_t n) const {
    prefetch_ring<false>(next_idx_, n);
  }
  // The lines the next `n` used descriptors will be written to.
  [[gnu::always_inline]] void prefetch_used_slots(uint16_t n) const {
    prefetch_ring<true>(used_idx_, n);
  }
  // Nothing to do: a chain is walked from the copies avail_count() made, which are in cache.
  void prefetch_desc(uint16_t /*id*/) const {}
  void prefetch_next_descs(uint16_t /*n*/) const {}
  // Takes the first `n` chains found; the others are dropped, to be found again next time.
  void consume(uint16_t n);

  // Walks the found chain with buffer id `id` (as head_at gave it).
  ChainWalk walk(uint16_t id, Access access, std::span<HostSpan> out) const {
    if (id >= layout_.size || ids_[id].state != IdState::found) [[unlikely]] {
      return ChainWalk{ChainStatus::bad_head, 0, 0};
    }
    const Chain& c = chains_[ids_[id].chain];
    return walk_packed_chain(*mem_, std::span(&copies_[c.first], c.descs), layout_.size, access,
                             indirect_, out);
  }

  // Queues a used descriptor for buffer `id`, which must be consumed by the time of
  // publish_used(); nothing is visible to the guest until then.
  // Buffers the device wrote, marked in the dirty log while one is set.
  void log_written(const HostSpan* spans, uint32_t count, uint64_t bytes) {
    if (const DirtyLog* log = dirty_log_.load(std::memory_order_relaxed)) [[unlikely]] {
      stats_.dirty_pages.add(log->mark_spans(*mem_, spans, count, bytes));
    }
  }

  void put_used(uint16_t id, uint32_t len) {
    if (pending_count_ == pending_.size()) [[unlikely]]
      return;  // more than we can hold: a bug
    pending_[pending_count_++] = Pending{len, id};
  }
  // Writes the queued used descriptors, the first one's flags last (release), so the driver
  // sees the batch at once; then signals the call eventfd if the driver asked.
  void publish_used();

  // For a worker that sleeps between kicks (configure() asks for none): ask the driver to kick
  // when it makes a buffer available. Returns true when one is available already, and then the
  // worker must not sleep.
  bool enable_kicks();
  // Busy again: the driver need not kick.
  void disable_kicks();

  // Marks the queue broken (NEEDS_RESET), counts and logs once; out of line.
  void mark_broken(ChainStatus status, uint16_t id);
  void mark_broken(const char* reason, uint16_t id);
  const GuestMemory& memory() const { return *mem_; }

 private:
  enum class IdState : uint8_t { free, found, in_flight };
  // A chain found in the ring: its copies are copies_[first, first + descs).
  struct Chain {
    uint16_t first;
    uint16_t descs;
    uint16_t id;
  };
  struct IdSlot {
    uint16_t descs = 0;  // the chain's descriptors in the ring: how far its used one advances
    uint16_t chain = 0;  // index into chains_ while found
    IdState state = IdState::free;
  };
  struct Pending {
    uint32_t len;
    uint16_t id;
    uint16_t slot = 0;   // set by publish_used(): where the used descriptor goes
    uint16_t flags = 0;  // and its flags
  };

  uint16_t find_chains(uint16_t want);
  // A position in [0, 2 * size): the index, plus size in laps whose wrap counter is 0. Two
  // positions of this form compare across at most one lap, which is all the ring can hold.
  uint32_t linear(uint16_t idx, bool wrap) const {
    return wrap ? idx : uint32_t{idx} + layout_.size;
  }
  bool guest_wants_interrupt();
  template <bool kForWrite>
  [[gnu::always_inline]] void prefetch_ring(uint16_t first, uint16_t n) const {
    uint32_t count = std::min<uint32_t>(n, layout_.size);
    uint32_t stop = std::min<uint32_t>(first + count, layout_.size);
    prefetch_descs<kForWrite>(layout_.desc + first, stop - first);
    if (first + count > layout_.size) {
      prefetch_descs<kForWrite>(layout_.desc, first + count - layout_.size);
    }
  }
  // base/prefetch.h's loop, inlined by force: GCC 12 takes a function that only prefetches for
  // one without side effects and deletes calls to it that it did not inline early.
  template <bool kForWrite>
  [[gnu::always_inline]] static void prefetch_descs(const PackedDesc* p, uint32_t count) {
    auto end = reinterpret_cast<uintptr_t>(p + count);
    for (uintptr_t a = reinterpret_cast<uintptr_t>(p) & ~(kCacheLine - 1); a < end;
         a += kCacheLine) {
      // NOLINTNEXTLINE(performance-no-int-to-ptr): a line address, only prefetched
      __builtin_prefetch(reinterpret_cast<const void*>(a), kForWrite ? 1 : 0);
    }
  }
  void notify_guest();
  // Marks the areas the device writes: the whole descriptor ring (used descriptors go back into
  // it) and the device's event suppression area.
  // Returns the pages it newly marked.
  uint64_t log_rings(const DirtyLog& log) const;
  void break_ring(const std::string& reason);
  void log_broken(const std::string& reason) const;

  const GuestMemory* mem_ = nullptr;
  PackedRingLayout layout_;
  std::atomic<const DirtyLog*> dirty_log_{nullptr};
  bool event_idx_ = false;
  bool indirect_ = false;
  // The next descriptor not taken, and the next used slot.
  uint16_t next_idx_ = 0;
  bool next_wrap_ = true;
  uint16_t used_idx_ = 0;
  bool used_wrap_ = true;
  uint32_t signalled_ = 0;        // linear() of the used position at the last interrupt decision
  uint32_t in_flight_descs_ = 0;  // ring descriptors of consumed chains not yet used
  // Chains found since the last consume(): their copies, where the scan goes on.
  std::vector<PackedDesc> copies_;
  std::vector<Chain> chains_;
  uint16_t copied_ = 0;
  uint16_t found_ = 0;
  uint16_t scan_idx_ = 0;
  bool scan_wrap_ = true;
  std::vector<IdSlot> ids_;
  std::vector<Pending> pending_;
  uint32_t pending_count_ = 0;
  int call_fd_ = -1;
  int err_fd_ = -1;
  int kick_fd_ = -1;
  std::atomic<bool> live_{false};
  std::atomic<bool> broken_{false};
  QueueStats stats_;
  std::string label_;  // cold: read only when the queue breaks
  mutable LogLimit log_limit_;
};

}  // namespace ringlane::virtio
