// VhostUserBackend: the device side of one vhost-user connection. It owns the mapped guest
// memory, the per-vring state the frontend sets, and the SplitQueues workers serve. It changes a
// live queue only after stopping it and waiting out a grace period, so workers need no locks.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "ringlane/base/counter.h"
#include "ringlane/base/log_limit.h"
#include "ringlane/base/quiescent_state.h"
#include "ringlane/vhost_user/message.h"
#include "ringlane/vhost_user/message_channel.h"
#include "ringlane/virtio/guest_memory.h"
#include "ringlane/virtio/split_queue.h"

namespace ringlane::vhost_user {

struct BackendConfig {
  std::string name = "vhost";
  uint64_t features = 0;           // virtio features offered (PROTOCOL_FEATURES is added)
  uint64_t protocol_features = 0;  // vhost-user protocol features offered
  uint16_t vring_count = 2;        // virtqueues this device serves at most
  uint32_t max_mem_slots = virtio::GuestMemory::kMaxRegions;
};

struct BackendStats {
  Counter messages;
  Counter bad_messages;  // malformed, unsupported or failed requests
  Counter connections;
  Counter disconnects;
};

class VhostUserBackend {
 public:
  static constexpr uint16_t kMaxVrings = 32;

  // `grace` may be null when no worker ever touches the queues (unit tests).
  VhostUserBackend(BackendConfig config, QuiescentState* grace);
  virtual ~VhostUserBackend();
  VhostUserBackend(const VhostUserBackend&) = delete;
  VhostUserBackend& operator=(const VhostUserBackend&) = delete;

  // Handles one message from the frontend and sends any reply. An error means the connection
  // must be dropped (the message was bad and the frontend did not ask for an ack).
  Status handle(Message& message, MessageChannel& channel);
  // The frontend went away: every queue stops, memory is unmapped, fds are closed.
  void disconnect();

  const std::string& name() const { return config_.name; }
  uint16_t vring_count() const { return config_.vring_count; }
  virtio::SplitQueue& vring(uint16_t index) { return queues_[index]; }
  const virtio::SplitQueue& vring(uint16_t index) const { return queues_[index]; }
  uint64_t acked_features() const { return acked_features_; }
  uint64_t acked_protocol_features() const { return acked_protocol_; }
  uint8_t status() const;
  size_t memory_regions() const { return memory_ ? memory_->region_count() : 0; }
  const BackendStats& stats() const { return stats_; }
  BackendStats& stats() { return stats_; }
  // This port's limit for lines its frontend can provoke (bad messages, connects).
  LogLimit& log_limit() { return log_limit_; }

 protected:
  // Called with every queue stopped when the driver acks features.
  virtual void on_features(uint64_t acked) { (void)acked; }
  // Answer to GET_QUEUE_NUM.
  virtual uint64_t queue_num() const { return config_.vring_count; }
  // Device-specific requests (NET_SET_MTU); std::nullopt when not ours.
  virtual std::optional<Status> handle_device_request(const Message& message) {
    (void)message;
    return std::nullopt;
  }

 private:
  struct Vring {
    uint32_t num = 0;
    VringAddr addr{};
    bool addr_set = false;
    uint16_t base = 0;
    bool started = false;  // a kick fd (or "no fd") was set
    bool enabled = false;
    UniqueFd kick;
    UniqueFd call;
    UniqueFd err;
  };

  // A request's own answer (GET_*); empty when it has none, and then a REPLY_ACK may be owed.
  struct Reply {
    uint32_t size = 0;
    uint8_t bytes[sizeof(VringState) > 8 ? sizeof(VringState) : 8] = {};
    template <typename T>
    static Reply of(const T& value) {
      static_assert(sizeof(T) <= sizeof(bytes));
      Reply r;
      r.size = sizeof(T);
      std::memcpy(r.bytes, &value, sizeof(T));
      return r;
    }
  };
  Result<Reply> dispatch(Message& message);
  // A request without an answer of its own: its status only.
  static Result<Reply> done(Status status);
  Result<Vring*> vring_for(uint64_t index);
  Status set_mem_table(Message& message);
  Status add_mem_reg(Message& message);
  Status rem_mem_reg(const Message& message);
  Status replace_memory(std::vector<std::shared_ptr<const virtio::MappedRegion>> regions);
  Status set_vring_fd(Message& message);
  // Stops the vring's queue, applies `change`, and restarts the queue if it is ready.
  Status change_vring(uint64_t index, const std::function<void(Vring&)>& change);

  // Stops the given queues (one grace period for all) and records where they stopped.
  void stop_queues(uint32_t first, uint32_t count);
  void stop_queue(uint32_t index) { stop_queues(index, 1); }
  // Starts a queue once everything it needs is set; fails if its rings are not in memory.
  Status start_queue_if_ready(uint32_t index);
  void start_all_ready();
  void reset_vrings();

  BackendConfig config_;
  QuiescentState* grace_;
  uint64_t acked_features_ = 0;
  uint64_t acked_protocol_ = 0;
  uint8_t status_ = 0;
  std::unique_ptr<virtio::GuestMemory> memory_;
  std::array<Vring, kMaxVrings> vrings_;
  std::array<virtio::SplitQueue, kMaxVrings> queues_;
  BackendStats stats_;
  LogLimit log_limit_;
};

}  // namespace ringlane::vhost_user
