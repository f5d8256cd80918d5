// SplitQueue: the device side of one split virtqueue. The control thread configures it while it
// is stopped; while it is live exactly one worker at a time touches it, with no locks.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string>

#include "ringlane/base/log_limit.h"
#include "ringlane/base/prefetch.h"
#include "ringlane/virtio/desc_chain.h"
#include "ringlane/virtio/dirty_log.h"
#include "ringlane/virtio/guest_memory.h"
#include "ringlane/virtio/queue_stats.h"
#include "ringlane/virtio/request_chain.h"
#include "ringlane/virtio/spec.h"

namespace ringlane::virtio {

struct RingLayout {
  virtio::VringDesc* desc = nullptr;
  virtio::VringAvail* avail = nullptr;
  virtio::VringUsed* used = nullptr;
  uint16_t size = 0;  // a power of two
};

class SplitQueue {
 public:
  // --- control thread, while the queue is not live -----------------------------------------
  void configure(const GuestMemory* mem, RingLayout layout, bool event_idx, bool indirect,
                 uint16_t last_avail_idx);
  void set_call_fd(int fd) { call_fd_ = fd; }
  void set_err_fd(int fd) { err_fd_ = fd; }
  // The eventfd the driver kicks; a worker that sleeps waits on it (-1: none, a polled ring).
  void set_kick_fd(int fd) { kick_fd_ = fd; }
  // Names the queue in its log lines, e.g. "vm0 queue 1 (tx of pair 0)": set once by the owner,
  // which knows the port; a queue alone knows neither.
  void set_label(std::string label) { label_ = std::move(label); }
  void set_live(bool live) { live_.store(live, std::memory_order_release); }
  void clear_broken() { broken_.store(false, std::memory_order_relaxed); }
  uint16_t last_avail_idx() const { return last_avail_; }
  // While a migration logs (VHOST_F_LOG_ALL), every write into guest memory is marked in `log`
  // (the used ring at once: configure() and earlier bursts wrote it); null turns it off. Off, it
  // costs one predictable branch per burst and per received frame. Any thread, live or not: a
  // worker sees the change from its next burst, so the caller waits a grace period before it
  // counts on it (or frees the old log).
  void set_dirty_log(const DirtyLog* log);

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
  // Heads the guest made available that the device has not taken, as a reading for statistics
  // (any thread; 0 unless live, and bounded by the ring size whatever the guest wrote).
  uint16_t occupancy() const;

  // --- the serving worker ------------------------------------------------------------------
  // Number of heads the guest made available. An index that moved by more than the ring size
  // breaks the queue and returns 0.
  uint16_t avail_count() {
    uint16_t idx = __atomic_load_n(&layout_.avail->idx, __ATOMIC_ACQUIRE);
    auto pending = static_cast<uint16_t>(idx - last_avail_);
    if (pending > layout_.size) [[unlikely]] {
      mark_broken_avail(idx);
      return 0;
    }
    return pending;
  }
  // The head `offset` entries past the last consumed one (not consumed yet).
  uint16_t head_at(uint16_t offset) const {
    return __atomic_load_n(&layout_.avail->ring[(last_avail_ + offset) & mask_], __ATOMIC_RELAXED);
  }
  // Start loading ring lines the next `n` heads will touch, so that their misses overlap: the
  // avail slots after the last consumed one (read) and the next used slots (written).
  [[gnu::always_inline]] void prefetch_avail_slots(uint16_t n) const {
    prefetch_slots<false>(layout_.avail->ring, last_avail_, n);
  }
  [[gnu::always_inline]] void prefetch_used_slots(uint16_t n) const {
    prefetch_slots<true>(layout_.used->ring, used_shadow_, n);
  }
  // Starts loading the descriptor `head` names (masked: a bad head is refused by walk()).
  [[gnu::always_inline]] void prefetch_desc(uint16_t head) const {
    prefetch_read(&layout_.desc[head & mask_], sizeof(virtio::VringDesc));
  }
  // Where the next heads' descriptors probably are: drivers that take descriptors in ring
  // order (all with VIRTIO_F_IN_ORDER, and DPDK's when buffers come back in order) put them
  // after the last one. Lets a burst load its descriptors before the avail ring says which.
  [[gnu::always_inline]] void prefetch_next_descs(uint16_t n) const {
    prefetch_slots<false>(layout_.desc, desc_hint_, n);
  }
  void consume(uint16_t n) {
    if (n == 0) return;
    desc_hint_ = static_cast<uint16_t>(head_at(static_cast<uint16_t>(n - 1)) + 1);
    last_avail_ = static_cast<uint16_t>(last_avail_ + n);
  }

  ChainWalk walk(uint16_t head, Access access, std::span<HostSpan> out) const {
    return walk_chain(*mem_, layout_.desc, layout_.size, head, access, indirect_, out);
  }
  // A request-response chain (virtio-blk): readable part, then writable part.
  RequestChainWalk walk_request(uint16_t head, std::span<HostSpan> out) const {
    return walk_request_chain(*mem_, layout_.desc, layout_.size, head, indirect_, out);
  }

  // Buffers the device wrote, marked in the dirty log while one is set: the first `bytes` of
  // `spans` (a receive copy's chain).
  void log_written(const HostSpan* spans, uint32_t count, uint64_t bytes) {
    if (const DirtyLog* log = dirty_log_.load(std::memory_order_relaxed)) [[unlikely]] {
      stats_.dirty_pages.add(log->mark_spans(*mem_, spans, count, bytes));
    }
  }

  // Queues a used element; nothing is visible to the guest until publish_used().
  void put_used(uint16_t head, uint32_t len) {
    virtio::VringUsedElem& e = layout_.used->ring[used_shadow_ & mask_];
    e.id = head;
    e.len = len;
    used_shadow_ = static_cast<uint16_t>(used_shadow_ + 1);
  }
  // Makes queued used elements visible, then signals the call eventfd if the guest asked.
  void publish_used() {
    if (used_shadow_ == used_published_) return;
    __atomic_store_n(&layout_.used->idx, used_shadow_, __ATOMIC_RELEASE);
    used_published_ = used_shadow_;
    if (const DirtyLog* log = dirty_log_.load(std::memory_order_relaxed)) [[unlikely]] {
      stats_.dirty_pages.add(log_used_ring(*log));
    }
    if (call_fd_ >= 0 && guest_wants_interrupt()) notify_guest();
  }

  // For a worker that sleeps between kicks (configure() assumes a busy-polling one): ask the
  // driver to kick when it adds a buffer after the ones seen so far. Returns true when buffers
  // arrived meanwhile, and then the worker must not sleep.
  bool enable_kicks();
  // Busy again: the driver need not kick.
  void disable_kicks();

  // Marks the queue broken (NEEDS_RESET), counts and logs once; out of line.
  void mark_broken(ChainStatus status, uint16_t head);
  // The same for a violation the device found (e.g. a head made available while in flight).
  void mark_broken(const char* reason, uint16_t head);
  const GuestMemory& memory() const { return *mem_; }

 private:
  bool guest_wants_interrupt() {
    // The used index store must be visible before we read the guest's flags or used_event:
    // a driver re-enables interrupts, then re-checks the used index, and one of the two sides
    // must see the other's write or the wake-up is lost.
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (!event_idx_) {
      return !(__atomic_load_n(&layout_.avail->flags, __ATOMIC_RELAXED) &
               virtio::kAvailFNoInterrupt);
    }
    uint16_t event = __atomic_load_n(&layout_.avail->ring[layout_.size], __ATOMIC_RELAXED);
    uint16_t old = signalled_used_;
    signalled_used_ = used_published_;
    return virtio::vring_need_event(event, used_published_, old);
  }
  // Prefetches the cache lines holding slots [first, first + n) of a ring of `T`, wrapping.
  // The prefetch helpers are always inlined (see base/prefetch.h: GCC deletes them otherwise).
  template <bool kForWrite, typename T>
  [[gnu::always_inline]] void prefetch_slots(const T* ring, uint16_t first, uint16_t n) const {
    uint32_t start = first & mask_;
    uint32_t stop = std::min<uint32_t>(start + n, layout_.size);
    prefetch_lines<kForWrite>(ring + start, (stop - start) * sizeof(T));
    if (start + n > layout_.size) {
      prefetch_lines<kForWrite>(ring, (start + n - layout_.size) * sizeof(T));
    }
  }
  void notify_guest();
  // Marks the whole used ring (its elements, index, flags and avail_event): it spans a page or
  // two, and the driver copies it again anyway.
  // Returns the pages it newly marked.
  uint64_t log_used_ring(const DirtyLog& log) const;
  void mark_broken_avail(uint16_t idx);
  void log_broken(const std::string& reason) const;

  const GuestMemory* mem_ = nullptr;
  RingLayout layout_;
  std::atomic<const DirtyLog*> dirty_log_{nullptr};
  uint16_t mask_ = 0;
  uint16_t last_avail_ = 0;
  uint16_t used_shadow_ = 0;
  uint16_t used_published_ = 0;
  uint16_t signalled_used_ = 0;
  uint16_t desc_hint_ = 0;
  bool event_idx_ = false;
  bool indirect_ = false;
  int call_fd_ = -1;
  int err_fd_ = -1;
  int kick_fd_ = -1;
  std::atomic<bool> live_{false};
  std::atomic<bool> broken_{false};
  QueueStats stats_;
  std::string label_;  // cold: read only when the queue breaks
  // Each queue its own: a hostile port breaking its rings over and over cannot crowd a
  // neighbour's line out.
  mutable LogLimit log_limit_;
};

}  // namespace ringlane::virtio
