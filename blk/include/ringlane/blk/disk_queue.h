// DiskQueue: one virtqueue of a disk, served by one worker through that worker's IoRing. The
// worker takes requests off the ring (poll), each becomes one or a few io_uring operations
// straight on guest memory, and completions come back in any order (complete): `used` entries
// carry their own heads, so a slow read never holds up a fast one behind it.
#pragma once

#include <sys/uio.h>

#include <atomic>
#include <cstdint>
#include <vector>

#include "ringlane/base/log_limit.h"
#include "ringlane/blk/disk_settings.h"
#include "ringlane/blk/disk_stats.h"
#include "ringlane/blk/io_ring.h"
#include "ringlane/blk/request.h"
#include "ringlane/vhost_user/inflight.h"
#include "ringlane/virtio/split_queue.h"

namespace ringlane::blk {

class DiskQueue {
 public:
  // Requests taken from the ring per poll, at most.
  static constexpr uint16_t kBurst = 32;
  // Data segments a request may have (seg_max); chains with more are refused.
  static constexpr uint32_t kMaxSegments = 126;
  // Submission entries one request may need (a DISCARD of that many ranges).
  static constexpr uint32_t kMaxOpsPerRequest = 16;

  DiskQueue(virtio::SplitQueue& queue, const DiskSettings& settings);
  DiskQueue(const DiskQueue&) = delete;
  DiskQueue& operator=(const DiskQueue&) = delete;

  // --- control thread, while the queue is stopped and nothing is in flight -----------------
  // Sizes the request slots for the ring and takes up its in-flight region (or none). After a
  // crash the region names the requests a previous process took and never gave back: they are
  // resubmitted first, and the ring resumes past them. Returns the position to resume at.
  uint16_t prepare(const virtio::RingLayout& layout, vhost_user::InflightQueue* region,
                   uint16_t base);

  // Requests prepare() found in flight, to be resubmitted first.
  uint16_t resubmissions() const { return static_cast<uint16_t>(resubmit_.size()); }

  // --- any thread --------------------------------------------------------------------------
  uint32_t in_flight() const { return in_flight_.load(std::memory_order_acquire); }
  const DiskQueueStats& stats() const { return stats_; }
  virtio::SplitQueue& queue() { return queue_; }
  const virtio::SplitQueue& queue() const { return queue_; }

  // --- the serving worker ------------------------------------------------------------------
  // Takes up to a burst of requests off the ring and queues their I/O on `ring` (submitted by
  // the caller). Returns the requests taken.
  uint16_t poll(IoRing& ring);
  // One operation of an earlier poll finished with `res` (bytes, or -errno). `user_data` is
  // what poll() tagged it with: the slot, which knows its queue.
  static void complete(uint64_t user_data, int res);
  // Makes completed requests visible to the guest (and interrupts it if it asked).
  void publish() {
    if (!unpublished_) return;
    unpublished_ = false;
    if (inflight_ == nullptr) {
      queue_.publish_used();
    } else {
      publish_tracked();
    }
  }

 private:
  struct Slot {
    DiskQueue* owner = nullptr;
    uint8_t* status = nullptr;
    uint64_t bytes = 0;
    uint64_t start_tsc = 0;
    uint16_t head = 0;
    uint16_t pending = 0;  // operations not yet completed
    bool busy = false;
    bool failed = false;
    bool unsupported = false;  // the store refused the operation (EOPNOTSUPP)
    RequestKind kind = RequestKind::other;
    uint32_t iov_count = 0;
    iovec iov[kMaxSegments];
  };

  // Starts the request at `head`; false when the chain broke the queue.
  bool start(uint16_t head, IoRing& ring);
  // Records in the in-flight region that `head` was taken, before anything can complete it.
  void track(uint16_t head) {
    if (inflight_ == nullptr) return;
    inflight_->desc[head].counter = ++inflight_counter_;
    __atomic_store_n(&inflight_->desc[head].inflight, uint8_t{1}, __ATOMIC_RELEASE);
  }
  // Puts `head` on the used ring (published by publish()).
  void give_back(uint16_t head, uint32_t len) {
    queue_.put_used(head, len);
    if (inflight_ != nullptr) completed_heads_.push_back(head);
    unpublished_ = true;
  }
  void publish_tracked();
  void start_read_write(Slot& slot, const Request& request, bool write, IoRing& ring);
  void start_ranges(Slot& slot, const Request& request, std::span<virtio::HostSpan> spans,
                    IoRing& ring);
  // Answers without I/O: writes the status byte and puts the head on the used ring.
  void finish_now(uint16_t head, uint8_t* status, uint8_t value, uint32_t used_len);
  void fail_now(uint16_t head, uint8_t* status, DiskError error);
  void on_operation_done(Slot& slot, int res);
  // Ties a prepared submission entry to `slot`: the fixed-file flag when the settings say so,
  // the slot as its user data, one more operation the slot waits for.
  void attach(io_uring_sqe* sqe, Slot& slot) const;
  // The slot's operations are all queued: it is in flight from now.
  void launch(Slot& slot);
  void log_io_error(const Slot& slot, int res);

  virtio::SplitQueue& queue_;
  const DiskSettings& settings_;
  std::vector<Slot> slots_;
  std::vector<virtio::HostSpan> spans_;  // the chain being taken apart
  std::atomic<uint32_t> in_flight_{0};
  // Crash recovery (INFLIGHT_SHMFD): the region, the heads completed since the last publish,
  // and the heads a previous process left in flight, in the order it took them.
  vhost_user::InflightQueue* inflight_ = nullptr;
  uint64_t inflight_counter_ = 0;
  std::vector<uint16_t> completed_heads_;
  std::vector<uint16_t> resubmit_;
  size_t resubmit_next_ = 0;
  bool unpublished_ = false;
  DiskQueueStats stats_;
  LogLimit log_limit_;
};

}  // namespace ringlane::blk
