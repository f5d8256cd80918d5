// VhostNetPort: a VM port, served over vhost-user as a virtio-net device, on split or packed
// virtqueues as the driver negotiated.
#pragma once

#include <atomic>
#include <memory>

#include "ringlane/dataplane/port.h"
#include "ringlane/vhost_user/endpoint.h"
#include "ringlane/vhost_user/net_device.h"

namespace ringlane::dataplane {

struct VhostNetPortConfig {
  std::string name;
  std::string socket_path;
  vhost_user::SocketMode socket_mode = vhost_user::SocketMode::server;
  uint16_t queue_pairs = 1;
  uint64_t disabled_features = 0;
};

class VhostNetPort final : public Port {
 public:
  VhostNetPort(const VhostNetPortConfig& config, QuiescentState* grace, EventLoop& loop);

  Status start() { return endpoint_.start(); }
  void tick(std::chrono::steady_clock::time_point now) override { endpoint_.tick(now); }
  vhost_user::NetDevice& device() { return device_; }
  const vhost_user::NetDevice& device() const { return device_; }

  const std::string& name() const override { return name_; }
  uint16_t queue_pairs() const override { return device_.max_queue_pairs(); }
  uint16_t receive(uint16_t qp, net::PacketBatch& batch) override;
  void release(uint16_t qp, const net::PacketBatch& batch) override;
  uint16_t transmit(uint16_t qp, const net::PacketBatch& batch,
                    std::span<const uint16_t> which) override;
  int transmit_queue_for(unsigned worker) const override;
  std::vector<PortQueueStats> queue_stats() const override;
  // Live migration: whether the queues log what they write, and the pages they marked.
  std::vector<std::pair<std::string, uint64_t>> counters() const override;
  bool connected() const override { return endpoint_.connected(); }
  const char* kind() const override { return "vhost"; }
  void set_shared_transmit(bool shared) override { shared_transmit_ = shared; }
  Wakeup arm_wakeup(uint16_t qp) override;
  void disarm_wakeup(uint16_t qp, bool signalled) override;

 private:
  // transmit() on the RX queue of either kind.
  template <typename Queue>
  uint16_t transmit_to(Queue& q, uint16_t qp, const net::PacketBatch& batch,
                       std::span<const uint16_t> which);

  std::string name_;
  vhost_user::NetDevice device_;
  vhost_user::VhostUserEndpoint endpoint_;
  bool shared_transmit_ = false;
  std::atomic<bool> transmit_busy_[vhost_user::NetDevice::kMaxQueuePairs] = {};
};

}  // namespace ringlane::dataplane
