#include "ringlane/blk/disk_queue.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>

#include <algorithm>
#include <cstring>

#include "ringlane/base/tsc_clock.h"
#include "ringlane/virtio/blk_spec.h"

namespace ringlane::blk {

namespace {

RequestKind kind_of(uint32_t type) {
  switch (type) {
    case virtio::kBlkTIn:
      return RequestKind::in;
    case virtio::kBlkTOut:
      return RequestKind::out;
    case virtio::kBlkTFlush:
      return RequestKind::flush;
    case virtio::kBlkTGetId:
      return RequestKind::get_id;
    case virtio::kBlkTDiscard:
      return RequestKind::discard;
    case virtio::kBlkTWriteZeroes:
      return RequestKind::write_zeroes;
    default:
      return RequestKind::other;
  }
}

// Copies `len` bytes out of the spans (the driver may rewrite them meanwhile: one copy, then
// only the copy is read).
void gather(std::span<const virtio::HostSpan> spans, uint8_t* out, uint64_t len) {
  for (const virtio::HostSpan& s : spans) {
    if (len == 0) return;
    uint64_t n = std::min(s.len, len);
    std::memcpy(out, s.data, n);
    out += n;
    len -= n;
  }
}

// Copies `len` bytes into the spans; returns the bytes copied.
uint64_t scatter(std::span<const virtio::HostSpan> spans, const uint8_t* in, uint64_t len) {
  uint64_t done = 0;
  for (const virtio::HostSpan& s : spans) {
    uint64_t n = std::min(s.len, len - done);
    std::memcpy(s.data, in + done, n);
    done += n;
    if (done == len) break;
  }
  return done;
}

}  // namespace

void DiskQueue::attach(io_uring_sqe* sqe, Slot& slot) const {
  if (settings_.fixed_files) sqe->flags |= IOSQE_FIXED_FILE;
  io_uring_sqe_set_data64(sqe, reinterpret_cast<uint64_t>(&slot));
  ++slot.pending;
}

void DiskQueue::launch(Slot& slot) {
  slot.start_tsc = read_tsc();
  slot.busy = true;
  in_flight_.store(in_flight_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

DiskQueue::DiskQueue(virtio::SplitQueue& queue, const DiskSettings& settings)
    : queue_(queue), settings_(settings), spans_(kMaxSegments + 4) {}

uint16_t DiskQueue::prepare(const virtio::RingLayout& layout, vhost_user::InflightQueue* region,
                            uint16_t base) {
  uint16_t size = layout.size;
  if (slots_.size() != size) {
    slots_ = std::vector<Slot>(size);
    for (Slot& s : slots_) s.owner = this;
  }
  completed_heads_.clear();
  completed_heads_.reserve(size);
  resubmit_.clear();
  resubmit_next_ = 0;
  inflight_ = region != nullptr && size <= region->desc_num ? region : nullptr;
  if (inflight_ == nullptr) return base;
  // Entries published after the region last agreed with the used ring (a crash between the two)
  // were completed: their flags are stale. Only the ring's last `size` entries still say so.
  uint16_t used = __atomic_load_n(&layout.used->idx, __ATOMIC_ACQUIRE);
  auto behind = static_cast<uint16_t>(used - inflight_->used_idx);
  for (uint16_t i = static_cast<uint16_t>(used - std::min(behind, size)); i != used; ++i) {
    uint32_t id = layout.used->ring[i & (size - 1)].id;
    if (id < size) inflight_->desc[id].inflight = 0;
  }
  inflight_->used_idx = used;
  inflight_counter_ = 0;
  for (uint16_t head = 0; head < size; ++head) {
    inflight_counter_ = std::max(inflight_counter_, inflight_->desc[head].counter);
    if (inflight_->desc[head].inflight == 1) resubmit_.push_back(head);
  }
  std::sort(resubmit_.begin(), resubmit_.end(), [this](uint16_t a, uint16_t b) {
    return inflight_->desc[a].counter < inflight_->desc[b].counter;
  });
  if (!resubmit_.empty()) {
    log_limit_.log(LogLevel::info, queue_.label() + ": resubmitting " +
                                       std::to_string(resubmit_.size()) +
                                       " requests left in flight by the previous process");
  }
  // Every head taken was either given back (counted by the used index) or is in flight.
  return static_cast<uint16_t>(used + resubmit_.size());
}

void DiskQueue::publish_tracked() {
  if (!completed_heads_.empty()) inflight_->last_batch_head = completed_heads_.back();
  queue_.publish_used();
  // Published: from here a crash finds these in the used ring; clear their flags and say how
  // far the region agrees with the ring.
  for (uint16_t head : completed_heads_) {
    __atomic_store_n(&inflight_->desc[head].inflight, uint8_t{0}, __ATOMIC_RELEASE);
  }
  __atomic_store_n(&inflight_->used_idx,
                   static_cast<uint16_t>(inflight_->used_idx + completed_heads_.size()),
                   __ATOMIC_RELEASE);
  completed_heads_.clear();
}

uint16_t DiskQueue::poll(IoRing& ring) {
  if (!queue_.serving()) return 0;
  // What a previous process left in flight goes first, in the order it was taken.
  if (resubmit_next_ < resubmit_.size()) {
    uint16_t n = 0;
    while (resubmit_next_ < resubmit_.size() && ring.space() >= kMaxOpsPerRequest) {
      stats_.resubmitted.inc();
      ++n;
      if (!start(resubmit_[resubmit_next_++], ring)) break;
    }
    publish();
    return n;
  }
  uint16_t avail = queue_.avail_count();
  if (avail == 0) return 0;
  uint16_t n = std::min(avail, kBurst);
  uint16_t taken = 0;
  while (taken < n && ring.space() >= kMaxOpsPerRequest) {
    uint16_t head = queue_.head_at(taken);
    ++taken;
    if (!start(head, ring)) break;
  }
  queue_.consume(taken);
  publish();  // the ones answered without I/O
  return taken;
}

bool DiskQueue::start(uint16_t head, IoRing& ring) {
  virtio::RequestChainWalk walk = queue_.walk_request(head, spans_);
  if (virtio::is_fatal(walk.status)) {
    stats_.ring_errors.inc();
    queue_.mark_broken(walk.status, head);
    return false;
  }
  // A head the driver offers again before we gave it back: two requests would share a slot.
  if (head >= slots_.size() || slots_[head].busy) {
    stats_.ring_errors.inc();
    queue_.mark_broken("head made available again while in flight", head);
    return false;
  }
  track(head);
  if (walk.status == virtio::ChainStatus::too_many_segments) {
    // Not the driver breaking the ring, only more segments than we said we take: the chain is
    // given back with nothing written (where its status byte is, is past what we walked).
    stats_.errors_of(DiskError::too_many_segments).inc();
    give_back(head, 0);
    return true;
  }
  Request request = parse_request(std::span(spans_.data(), walk.spans), walk);
  RequestKind kind = kind_of(request.type);
  stats_.requests_of(kind).inc();
  if (request.fault == RequestFault::no_status) {
    stats_.errors_of(DiskError::malformed).inc();
    give_back(head, 0);
    return true;
  }
  if (request.fault != RequestFault::none) {
    fail_now(head, request.status, DiskError::malformed);
    return true;
  }
  std::span<virtio::HostSpan> data(spans_.data() + request.first_span, request.span_count);
  Slot& slot = slots_[head];
  slot.head = head;
  slot.status = request.status;
  slot.kind = kind;
  slot.failed = false;
  slot.unsupported = false;
  slot.pending = 0;
  slot.bytes = request.data_bytes;
  switch (kind) {
    case RequestKind::in:
    case RequestKind::out: {
      bool write = kind == RequestKind::out;
      if (write && settings_.readonly) {
        fail_now(head, request.status, DiskError::read_only);
        return true;
      }
      uint64_t capacity = settings_.capacity_sectors.load(std::memory_order_relaxed);
      if (!within_capacity(request.sector, request.data_bytes, capacity)) {
        fail_now(head, request.status, DiskError::out_of_range);
        return true;
      }
      if (request.span_count > settings_.seg_max) {
        fail_now(head, request.status, DiskError::too_many_segments);
        return true;
      }
      slot.iov_count = request.span_count;
      for (uint32_t i = 0; i < request.span_count; ++i) {
        slot.iov[i] = iovec{data[i].data, data[i].len};
      }
      start_read_write(slot, request, write, ring);
      return true;
    }
    case RequestKind::flush: {
      io_uring_sqe* sqe = ring.next_sqe();
      io_uring_prep_fsync(sqe, settings_.fixed_file, IORING_FSYNC_DATASYNC);
      attach(sqe, slot);
      launch(slot);
      return true;
    }
    case RequestKind::get_id: {
      uint64_t copied = scatter(data, reinterpret_cast<const uint8_t*>(settings_.id),
                                std::min<uint64_t>(request.data_bytes, sizeof(settings_.id)));
      finish_now(head, request.status, virtio::kBlkSOk, static_cast<uint32_t>(copied + 1));
      return true;
    }
    case RequestKind::discard:
    case RequestKind::write_zeroes:
      if (!settings_.discard) {
        fail_now(head, request.status, DiskError::unsupported);
        return true;
      }
      if (settings_.readonly) {
        fail_now(head, request.status, DiskError::read_only);
        return true;
      }
      start_ranges(slot, request, data, ring);
      return true;
    case RequestKind::other:
    case RequestKind::count:
      fail_now(head, request.status, DiskError::unsupported);
      return true;
  }
  return true;
}

void DiskQueue::start_read_write(Slot& slot, const Request& request, bool write, IoRing& ring) {
  // O_DIRECT takes only whole aligned blocks; the odd request goes through the page cache.
  int file = settings_.fixed_file;
  if (settings_.direct) {
    uintptr_t mask = settings_.direct_alignment - 1;
    for (uint32_t i = 0; i < slot.iov_count; ++i) {
      if ((reinterpret_cast<uintptr_t>(slot.iov[i].iov_base) | slot.iov[i].iov_len) & mask) {
        file = settings_.fixed_buffered_file;
        break;
      }
    }
  }
  io_uring_sqe* sqe = ring.next_sqe();
  uint64_t offset = request.sector * virtio::kBlkSectorSize;
  if (write) {
    int flags = settings_.writeback.load(std::memory_order_relaxed) ? 0 : RWF_DSYNC;
    io_uring_prep_writev2(sqe, file, slot.iov, slot.iov_count, offset, flags);
  } else {
    io_uring_prep_readv(sqe, file, slot.iov, slot.iov_count, offset);
  }
  attach(sqe, slot);
  launch(slot);
}

void DiskQueue::start_ranges(Slot& slot, const Request& request, std::span<virtio::HostSpan> data,
                             IoRing& ring) {
  uint16_t head = slot.head;
  uint64_t count = request.data_bytes / sizeof(virtio::BlkDiscardWriteZeroes);
  if (count > settings_.max_discard_seg) {
    fail_now(head, request.status, DiskError::malformed);
    return;
  }
  virtio::BlkDiscardWriteZeroes ranges[kMaxOpsPerRequest];
  gather(data, reinterpret_cast<uint8_t*>(ranges), count * sizeof(ranges[0]));
  uint64_t capacity = settings_.capacity_sectors.load(std::memory_order_relaxed);
  bool zeroes = slot.kind == RequestKind::write_zeroes;
  uint32_t allowed_flags = zeroes ? virtio::kBlkWriteZeroesFlagUnmap : 0;
  for (uint64_t i = 0; i < count; ++i) {
    if (ranges[i].flags & ~allowed_flags) {
      fail_now(head, request.status, DiskError::unsupported);
      return;
    }
    if (ranges[i].num_sectors > settings_.max_discard_sectors ||
        !within_capacity(ranges[i].sector, uint64_t{ranges[i].num_sectors} * virtio::kBlkSectorSize,
                         capacity)) {
      fail_now(head, request.status, DiskError::out_of_range);
      return;
    }
  }
  for (uint64_t i = 0; i < count; ++i) {
    if (ranges[i].num_sectors == 0) continue;
    // Punching a hole deallocates and reads back as zeroes: discard, and write-zeroes that may
    // unmap. Otherwise the zeroes stay allocated.
    int mode =
        FALLOC_FL_KEEP_SIZE |
        (!zeroes || (ranges[i].flags & virtio::kBlkWriteZeroesFlagUnmap) ? FALLOC_FL_PUNCH_HOLE
                                                                         : FALLOC_FL_ZERO_RANGE);
    io_uring_sqe* sqe = ring.next_sqe();
    io_uring_prep_fallocate(sqe, settings_.fixed_buffered_file, mode,
                            ranges[i].sector * virtio::kBlkSectorSize,
                            uint64_t{ranges[i].num_sectors} * virtio::kBlkSectorSize);
    attach(sqe, slot);
  }
  if (slot.pending == 0) {
    finish_now(head, request.status, virtio::kBlkSOk, 1);
    return;
  }
  launch(slot);
}

void DiskQueue::finish_now(uint16_t head, uint8_t* status, uint8_t value, uint32_t used_len) {
  *status = value;
  give_back(head, used_len);
  stats_.completed.inc();
  stats_.latency_cycles.record(0);
}

void DiskQueue::fail_now(uint16_t head, uint8_t* status, DiskError error) {
  stats_.errors_of(error).inc();
  uint8_t value = error == DiskError::unsupported ? virtio::kBlkSUnsupp : virtio::kBlkSIoErr;
  finish_now(head, status, value, 1);
}

void DiskQueue::complete(uint64_t user_data, int res) {
  // The kernel hands back, as a u64, the slot pointer poll() tagged the operation with.
  auto* slot = reinterpret_cast<Slot*>(user_data);  // NOLINT(performance-no-int-to-ptr)
  slot->owner->on_operation_done(*slot, res);
}

void DiskQueue::on_operation_done(Slot& slot, int res) {
  bool data = slot.kind == RequestKind::in || slot.kind == RequestKind::out;
  if (res == -EOPNOTSUPP && !data) {
    // The store cannot do it (zero range on tmpfs, say): UNSUPP lets the driver fall back to
    // writing zeroes itself, where IOERR would fail the guest's request.
    slot.unsupported = true;
  } else if (res < 0 || (data && static_cast<uint64_t>(res) != slot.bytes)) {
    if (!slot.failed) log_io_error(slot, res);
    slot.failed = true;
  }
  if (--slot.pending > 0) return;
  uint32_t used_len = 1;
  if (slot.failed) {
    stats_.errors_of(DiskError::io_error).inc();
    *slot.status = virtio::kBlkSIoErr;
  } else if (slot.unsupported) {
    stats_.errors_of(DiskError::unsupported).inc();
    *slot.status = virtio::kBlkSUnsupp;
  } else {
    *slot.status = virtio::kBlkSOk;
    if (slot.kind == RequestKind::in) {
      stats_.bytes_read.add(slot.bytes);
      used_len += static_cast<uint32_t>(slot.bytes);
    } else if (slot.kind == RequestKind::out) {
      stats_.bytes_written.add(slot.bytes);
    }
  }
  slot.busy = false;
  give_back(slot.head, used_len);
  stats_.completed.inc();
  stats_.latency_cycles.record(read_tsc() - slot.start_tsc);
  in_flight_.store(in_flight_.load(std::memory_order_relaxed) - 1, std::memory_order_release);
}

void DiskQueue::log_io_error(const Slot& slot, int res) {
  std::string what = res < 0 ? std::strerror(-res)
                             : "short transfer of " + std::to_string(res) + " of " +
                                   std::to_string(slot.bytes) + " bytes";
  log_limit_.log(LogLevel::warn, queue_.label() + ": " + to_string(slot.kind) + " request (head " +
                                     std::to_string(slot.head) + ") failed: " + what);
}

const char* to_string(RequestKind kind) {
  static constexpr const char* kNames[] = {"in",      "out",          "flush", "get_id",
                                           "discard", "write_zeroes", "other"};
  auto i = static_cast<size_t>(kind);
  return i < std::size(kNames) ? kNames[i] : "unknown";
}

const char* to_string(DiskError error) {
  static constexpr const char* kNames[] = {"malformed",   "out_of_range",      "read_only",
                                           "unsupported", "too_many_segments", "io_error"};
  auto i = static_cast<size_t>(error);
  return i < std::size(kNames) ? kNames[i] : "unknown";
}

}  // namespace ringlane::blk
