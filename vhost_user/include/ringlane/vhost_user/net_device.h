// NetDevice: a virtio-net device served over vhost-user. Virtqueue 2n receives into the guest
// (the guest's RX), virtqueue 2n+1 is the guest's transmit queue, for queue pair n. It offers
// VIRTIO_F_RING_PACKED: when the driver acks it, the packed queues serve (rx_packed, tx_packed).
#pragma once

#include <cstdint>

#include "ringlane/net/features.h"
#include "ringlane/vhost_user/backend.h"

namespace ringlane::vhost_user {

struct NetDeviceConfig {
  std::string name = "vhost-net";
  uint16_t max_queue_pairs = 8;
  // Feature bits withheld from the offer (e.g. to force a path in tests).
  uint64_t disabled_features = 0;
};

// The virtio-net features ringlane offers.
uint64_t offered_net_features();
// The names of the features in `bits` that change the data path, e.g. "version_1 in_order".
std::string net_feature_names(uint64_t bits);

class NetDevice : public VhostUserBackend {
 public:
  static constexpr uint16_t kMaxQueuePairs = kMaxVrings / 2;

  NetDevice(const NetDeviceConfig& config, QuiescentState* grace);

  uint16_t max_queue_pairs() const { return vring_count() / 2; }
  virtio::SplitQueue& rx_queue(uint16_t pair) { return vring(static_cast<uint16_t>(2 * pair)); }
  virtio::SplitQueue& tx_queue(uint16_t pair) { return vring(static_cast<uint16_t>(2 * pair + 1)); }
  const virtio::SplitQueue& rx_queue(uint16_t pair) const {
    return vring(static_cast<uint16_t>(2 * pair));
  }
  const virtio::SplitQueue& tx_queue(uint16_t pair) const {
    return vring(static_cast<uint16_t>(2 * pair + 1));
  }
  // The same queues' packed form, which serves instead when ring_packed().
  virtio::PackedQueue& rx_packed(uint16_t pair) {
    return packed_vring(static_cast<uint16_t>(2 * pair));
  }
  virtio::PackedQueue& tx_packed(uint16_t pair) {
    return packed_vring(static_cast<uint16_t>(2 * pair + 1));
  }
  const virtio::PackedQueue& rx_packed(uint16_t pair) const {
    return packed_vring(static_cast<uint16_t>(2 * pair));
  }
  const virtio::PackedQueue& tx_packed(uint16_t pair) const {
    return packed_vring(static_cast<uint16_t>(2 * pair + 1));
  }
  // Stable while any queue is live: features change only with every queue stopped.
  const net::NetFeatures& features() const { return features_; }
  uint32_t mtu() const { return mtu_; }

 protected:
  void on_features(uint64_t acked) override;
  uint64_t queue_num() const override { return max_queue_pairs(); }
  std::optional<Status> handle_device_request(const Message& message) override;

 private:
  net::NetFeatures features_;
  uint32_t mtu_ = 1500;
};

}  // namespace ringlane::vhost_user
