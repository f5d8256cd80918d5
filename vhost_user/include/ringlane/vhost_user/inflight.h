// InflightRegion: the buffer a backend shares with its frontend to survive its own crash
// (VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD). The backend creates it at GET_INFLIGHT_FD; the
// frontend keeps the fd and hands it back with SET_INFLIGHT_FD to the next backend process, which
// finds there every request that was taken off a ring and not yet given back. Only backends read
// it, so the layout is the backend's: the spec's split-queue layout, one region per queue.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "ringlane/base/result.h"
#include "ringlane/base/unique_fd.h"
#include "ringlane/vhost_user/message.h"

namespace ringlane::vhost_user {

// One descriptor head's state (the spec's DescStateSplit).
struct InflightDesc {
  uint8_t inflight;  // 1 from taking the head until its used entry is published
  uint8_t padding[5];
  uint16_t next;
  uint64_t counter;  // order taken: resubmission follows it
};
static_assert(sizeof(InflightDesc) == 16);

// One queue's region (the spec's QueueRegionSplit).
struct InflightQueue {
  uint64_t features;
  uint16_t version;
  uint16_t desc_num;
  uint16_t last_batch_head;
  uint16_t used_idx;  // the used index the flags agree with
  InflightDesc desc[];
};
static_assert(sizeof(InflightQueue) == 16);

class InflightRegion {
 public:
  static constexpr uint16_t kVersion = 1;

  // Bytes of one queue's region for a ring of up to `queue_size` entries.
  static uint64_t queue_bytes(uint16_t queue_size);
  // A fresh region (GET_INFLIGHT_FD): zeroed, each queue stamped with its size.
  static Result<std::unique_ptr<InflightRegion>> create(uint16_t num_queues, uint16_t queue_size);
  // A region the frontend hands back (SET_INFLIGHT_FD), checked against its description.
  static Result<std::unique_ptr<InflightRegion>> adopt(UniqueFd fd,
                                                       const InflightDescription& description);
  ~InflightRegion();
  InflightRegion(const InflightRegion&) = delete;
  InflightRegion& operator=(const InflightRegion&) = delete;

  int fd() const { return fd_.get(); }
  InflightDescription description() const;
  uint16_t num_queues() const { return num_queues_; }
  uint16_t queue_size() const { return queue_size_; }
  // The region of queue `index` (< num_queues()).
  InflightQueue* queue(uint16_t index) const;

 private:
  InflightRegion(UniqueFd fd, uint8_t* base, uint64_t size, uint16_t num_queues,
                 uint16_t queue_size)
      : fd_(std::move(fd)),
        base_(base),
        size_(size),
        num_queues_(num_queues),
        queue_size_(queue_size) {}
  UniqueFd fd_;
  uint8_t* base_;
  uint64_t size_;
  uint16_t num_queues_;
  uint16_t queue_size_;
};

}  // namespace ringlane::vhost_user
