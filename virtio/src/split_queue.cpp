#include "ringlane/virtio/split_queue.h"

#include "ringlane/base/event_fd.h"
#include "ringlane/base/log.h"

namespace ringlane::virtio {

void SplitQueue::configure(const GuestMemory* mem, RingLayout layout, bool event_idx, bool indirect,
                           uint16_t last_avail_idx) {
  mem_ = mem;
  layout_ = layout;
  mask_ = static_cast<uint16_t>(layout.size - 1);
  event_idx_ = event_idx;
  indirect_ = indirect;
  last_avail_ = last_avail_idx;
  desc_hint_ = last_avail_idx;
  // The device resumes where the used ring stands; entries we had consumed were all completed.
  used_shadow_ = __atomic_load_n(&layout.used->idx, __ATOMIC_ACQUIRE);
  used_published_ = used_shadow_;
  signalled_used_ = used_shadow_;
  // We busy-poll, so the guest need not kick us: with event-idx an avail_event that lags the
  // index costs one kick per 2^16 buffers; without it the NO_NOTIFY flag says so directly.
  if (event_idx) {
    auto* avail_event = reinterpret_cast<uint16_t*>(&layout.used->ring[layout.size]);
    __atomic_store_n(avail_event, static_cast<uint16_t>(last_avail_idx - 1), __ATOMIC_RELAXED);
  } else {
    __atomic_store_n(&layout.used->flags, virtio::kUsedFNoNotify, __ATOMIC_RELAXED);
  }
}

void SplitQueue::set_dirty_log(const DirtyLog* log) {
  dirty_log_.store(log, std::memory_order_release);
  if (log != nullptr && mem_ != nullptr) log_used_ring(*log);
}

uint64_t SplitQueue::log_used_ring(const DirtyLog& log) const {
  return log.mark_host(*mem_, reinterpret_cast<const uint8_t*>(layout_.used),
                       used_ring_bytes(layout_.size));
}

bool SplitQueue::enable_kicks() {
  if (event_idx_) {
    auto* avail_event = reinterpret_cast<uint16_t*>(&layout_.used->ring[layout_.size]);
    __atomic_store_n(avail_event, last_avail_, __ATOMIC_RELAXED);
  } else {
    __atomic_store_n(&layout_.used->flags, uint16_t{0}, __ATOMIC_RELAXED);
  }
  if (const DirtyLog* log = dirty_log_.load(std::memory_order_relaxed)) [[unlikely]] {
    stats_.dirty_pages.add(log_used_ring(*log));
  }
  // Our store before the re-check of the avail index: the driver publishes its index and then
  // reads ours, so one of the two sides sees the other's write.
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  return avail_count() != 0;
}

uint16_t SplitQueue::occupancy() const {
  if (!live() || layout_.avail == nullptr) return 0;
  uint16_t idx = __atomic_load_n(&layout_.avail->idx, __ATOMIC_RELAXED);
  // The worker writes last_avail_; a torn or stale reading only skews a statistic.
  uint16_t taken = __atomic_load_n(&last_avail_, __ATOMIC_RELAXED);
  return std::min(static_cast<uint16_t>(idx - taken), layout_.size);
}

void SplitQueue::disable_kicks() {
  if (event_idx_) {
    auto* avail_event = reinterpret_cast<uint16_t*>(&layout_.used->ring[layout_.size]);
    __atomic_store_n(avail_event, static_cast<uint16_t>(last_avail_ - 1), __ATOMIC_RELAXED);
  } else {
    __atomic_store_n(&layout_.used->flags, virtio::kUsedFNoNotify, __ATOMIC_RELAXED);
  }
  if (const DirtyLog* log = dirty_log_.load(std::memory_order_relaxed)) [[unlikely]] {
    stats_.dirty_pages.add(log_used_ring(*log));
  }
}

void SplitQueue::notify_guest() {
  signal_event_fd(call_fd_);
  stats_.notifications.inc();
}

void SplitQueue::mark_broken(ChainStatus status, uint16_t head) {
  mark_broken(to_string(status), head);
}

void SplitQueue::mark_broken(const char* reason, uint16_t head) {
  stats_.ring_errors.inc();
  if (broken_.exchange(true, std::memory_order_relaxed)) return;
  log_broken(std::string(reason) + " (head " + std::to_string(head) + ")");
  if (err_fd_ >= 0) signal_event_fd(err_fd_);
}

void SplitQueue::mark_broken_avail(uint16_t idx) {
  stats_.ring_errors.inc();
  if (broken_.exchange(true, std::memory_order_relaxed)) return;
  log_broken("avail index jumped from " + std::to_string(last_avail_) + " to " +
             std::to_string(idx));
  if (err_fd_ >= 0) signal_event_fd(err_fd_);
}

void SplitQueue::log_broken(const std::string& reason) const {
  std::string prefix = label_.empty() ? std::string() : label_ + ": ";
  log_limit_.log(LogLevel::warn, prefix + "virtqueue broken: " + reason);
}

}  // namespace ringlane::virtio
