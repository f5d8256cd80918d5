// VhostUserBackend: the device side of one vhost-user connection. It owns the mapped guest
// memory, the per-vring state the frontend sets, and the queues workers serve: a SplitQueue for
// each vring, and a PackedQueue beside it that serves instead when the driver acked
// VIRTIO_F_RING_PACKED (ring_packed()). It changes a live queue only after stopping it and
// waiting out a grace period, so workers need no locks.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "ringlane/base/counter.h"
#include "ringlane/base/log_limit.h"
#include "ringlane/base/quiescent_state.h"
#include "ringlane/vhost_user/inflight.h"
#include "ringlane/vhost_user/message.h"
#include "ringlane/vhost_user/message_channel.h"
#include "ringlane/vhost_user/request_table.h"
#include "ringlane/virtio/dirty_log.h"
#include "ringlane/virtio/guest_memory.h"
#include "ringlane/virtio/packed_queue.h"
#include "ringlane/virtio/split_queue.h"

namespace ringlane::vhost_user {

// The protocol features every ringlane device offers; each device adds its own (MTU for net;
// CONFIG, INFLIGHT_SHMFD and BACKEND_REQ for blk).
inline constexpr uint64_t kCommonProtocolFeatures =
    virtio::bit(protocol::kMq) | virtio::bit(protocol::kReplyAck) |
    virtio::bit(protocol::kResetDevice) | virtio::bit(protocol::kConfigureMemSlots) |
    virtio::bit(protocol::kStatus);

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
  // Which kind of queue serves the vrings: packed when the driver acked VIRTIO_F_RING_PACKED.
  // Workers read it before each burst (one predictable branch); it changes only while every
  // queue is stopped, so a worker that saw a queue live saw the kind it was started as.
  bool ring_packed() const { return ring_packed_.load(std::memory_order_relaxed); }
  // The split queue of vring `index` (what serves it unless ring_packed()).
  virtio::SplitQueue& vring(uint16_t index) { return queues_[index]; }
  const virtio::SplitQueue& vring(uint16_t index) const { return queues_[index]; }
  // The packed queue of vring `index` (what serves it when ring_packed()).
  virtio::PackedQueue& packed_vring(uint16_t index) { return packed_queues_[index]; }
  const virtio::PackedQueue& packed_vring(uint16_t index) const { return packed_queues_[index]; }
  // Names both queues of vring `index` in their log lines.
  void set_vring_label(uint16_t index, const std::string& label);
  uint64_t acked_features() const { return acked_features_; }
  uint64_t acked_protocol_features() const { return acked_protocol_; }
  uint8_t status() const;
  // Tells the frontend the configuration space changed (it reads it again and interrupts the
  // driver). Needs CONFIG and BACKEND_REQ negotiated and the channel set up.
  Status notify_config_change();
  // The in-flight tracking region the frontend shares (INFLIGHT_SHMFD), or null.
  InflightRegion* inflight() const { return inflight_.get(); }
  size_t memory_regions() const { return memory_ ? memory_->region_count() : 0; }
  // Whether the queues mark what they write in a migration's dirty log: VHOST_F_LOG_ALL acked
  // and a log shared (SET_LOG_BASE).
  bool logging() const;
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
  // GET_CONFIG: fills `out` from the configuration space at `offset` (validate() bounded the
  // window to kMaxConfigSize). A device without one refuses.
  virtual Status read_config(uint32_t offset, std::span<uint8_t> out) {
    (void)offset;
    (void)out;
    return Error(ENOSYS, "GET_CONFIG: this device has no configuration space");
  }
  // SET_CONFIG: the driver wrote `bytes` at `offset`.
  virtual Status write_config(uint32_t offset, std::span<const uint8_t> bytes) {
    (void)offset;
    (void)bytes;
    return Error(ENOSYS, "SET_CONFIG: this device has no writable configuration");
  }
  // Where a queue resumes: the next avail position, and how many requests before it the device
  // resubmits itself (taken by a previous process and never completed).
  struct QueueResume {
    uint16_t next_avail;
    uint16_t taken_back;
  };
  // Called for a queue about to go live on `layout`, nothing in flight, with the position the
  // frontend gave (SET_VRING_BASE). A device that tracks in-flight requests (inflight()) knows
  // better after a crash.
  virtual QueueResume prepare_queue(uint16_t index, const virtio::RingLayout& layout,
                                    uint16_t base) {
    (void)index;
    (void)layout;
    return {base, 0};
  }
  // Called once the queues in `mask` are stopped and no worker polls them any more: a device
  // whose requests outlive a poll (disk I/O) waits here until they have completed, so that the
  // stop position is final and memory can go.
  virtual void drain_queues(uint64_t mask) { (void)mask; }

 private:
  struct Vring {
    uint32_t num = 0;
    VringAddr addr{};
    bool addr_set = false;
    // SET/GET_VRING_BASE's value: a split ring's next avail index (16 bits), or a packed ring's
    // position (PackedPosition::to_vring_base: avail index and wrap in bits 0-15, used in 16-31).
    uint32_t base = 0;
    bool started = false;  // a kick fd (or "no fd") was set
    bool enabled = false;
    UniqueFd kick;
    UniqueFd call;
    UniqueFd err;
  };

  // The request table names the handlers below as its rows' handlers.
  friend std::span<const RequestInfo> request_table();

  // What a handler returns when its row has no answer of its own; the value is not sent.
  static constexpr uint64_t kNoAnswer = 0;
  // The request's own answer (Answer::u64 or vring_state in its row), or none.
  Result<std::optional<uint64_t>> dispatch(Message& message);
  // A request without an answer of its own: its status only.
  static Result<uint64_t> acked(const Status& status);
  Result<Vring*> vring_for(uint64_t index);
  // GET/SET_INFLIGHT_FD: a region this device's queues fit in.
  Status check_inflight_shape(const Message& message, const InflightDescription& d) const;
  // Takes up a new in-flight region, with every queue stopped meanwhile.
  void replace_inflight(std::unique_ptr<InflightRegion> region);
  // The log the queues mark while logging(), else null.
  const virtio::DirtyLog* active_dirty_log() const;
  // Gives the running queues the dirty log (or none, as logging() says) and waits until every
  // worker sees it; stopped queues take it when they start.
  void publish_dirty_log();
  // Refuses a request whose protocol feature the frontend did not negotiate.
  Status require_protocol(int feature, const Message& message) const;

  // Request handlers (RequestHandler): each gets a message validate() accepted.
  Result<uint64_t> get_features(Message& message);
  Result<uint64_t> set_features(Message& message);
  Result<uint64_t> set_owner(Message& message);
  Result<uint64_t> reset_device(Message& message);  // RESET_OWNER too
  Result<uint64_t> get_protocol_features(Message& message);
  Result<uint64_t> set_protocol_features(Message& message);
  Result<uint64_t> get_queue_num(Message& message);
  Result<uint64_t> get_max_mem_slots(Message& message);
  Result<uint64_t> set_mem_table(Message& message);
  Result<uint64_t> add_mem_reg(Message& message);
  Result<uint64_t> rem_mem_reg(Message& message);
  Result<uint64_t> set_vring_num(Message& message);
  Result<uint64_t> set_vring_addr(Message& message);
  Result<uint64_t> set_vring_base(Message& message);
  Result<uint64_t> get_vring_base(Message& message);
  Result<uint64_t> set_vring_kick(Message& message);
  Result<uint64_t> set_vring_call(Message& message);
  Result<uint64_t> set_vring_err(Message& message);
  Result<uint64_t> set_vring_enable(Message& message);
  Result<uint64_t> set_status(Message& message);
  Result<uint64_t> get_status(Message& message);
  Result<uint64_t> get_config(Message& message);
  Result<uint64_t> get_inflight_fd(Message& message);
  Result<uint64_t> set_backend_req_fd(Message& message);
  Result<uint64_t> set_inflight_fd(Message& message);
  Result<uint64_t> set_log_base(Message& message);
  Result<uint64_t> set_config(Message& message);
  // Device-specific requests: handle_device_request()'s, else unsupported.
  Result<uint64_t> device_request(Message& message);

  // SET_VRING_KICK/CALL/ERR: `set` stores the fd (or none, in polling mode) in the stopped vring.
  Result<uint64_t> set_vring_fd(Message& message, const std::function<void(Vring&, UniqueFd)>& set);
  Status replace_memory(std::vector<std::shared_ptr<const virtio::MappedRegion>> regions);
  // Stops the vring's queue, applies `change`, and restarts the queue if it is ready.
  Status change_vring(uint64_t index, const std::function<void(Vring&)>& change);

  // Stops the given queues (one grace period for all) and records where they stopped.
  void stop_queues(uint32_t first, uint32_t count);
  void stop_queue(uint32_t index) { stop_queues(index, 1); }
  // Starts a queue once everything it needs is set; fails if its rings are not in memory.
  Status start_queue_if_ready(uint32_t index);
  // start_queue_if_ready's two halves, once the vring is ready: each kind's placement and
  // position checks, then configure and go live.
  Status start_split_queue(uint32_t index);
  Status start_packed_queue(uint32_t index);
  bool queue_live(uint32_t index) const {
    return queues_[index].live() || packed_queues_[index].live();
  }
  void start_all_ready();
  void reset_vrings();

  BackendConfig config_;
  QuiescentState* grace_;
  uint64_t acked_features_ = 0;
  uint64_t acked_protocol_ = 0;
  uint8_t status_ = 0;
  std::unique_ptr<virtio::GuestMemory> memory_;
  // How many times each region was added (ADD_MEM_REG) and not removed, by guest address: QEMU
  // before 8.1 keeps one vhost device per queue pair on the same socket, and each adds (and
  // later removes) the same regions. Regions from SET_MEM_TABLE count once.
  std::map<uint64_t, uint32_t> region_adds_;
  std::unique_ptr<InflightRegion> inflight_;
  std::unique_ptr<virtio::DirtyLog> dirty_log_;    // SET_LOG_BASE's
  std::optional<MessageChannel> backend_channel_;  // SET_BACKEND_REQ_FD's
  int reply_fd_ = -1;  // an fd the current request's answer carries (GET_INFLIGHT_FD)
  std::array<Vring, kMaxVrings> vrings_;
  std::array<virtio::SplitQueue, kMaxVrings> queues_;
  std::array<virtio::PackedQueue, kMaxVrings> packed_queues_;
  std::atomic<bool> ring_packed_{false};
  BackendStats stats_;
  LogLimit log_limit_;
};

}  // namespace ringlane::vhost_user
