#include "ringlane/vhost_user/net_device.h"

#include <algorithm>

#include "ringlane/base/log.h"
#include "ringlane/virtio/feature_names.h"

namespace ringlane::vhost_user {

uint64_t offered_net_features() {
  using namespace virtio;
  return bit(kFVersion1) | bit(kFRingIndirectDesc) | bit(kFRingEventIdx) | bit(kNetFMrgRxbuf) |
         bit(kNetFMq) | bit(kNetFMtu) | bit(kNetFStatus) | bit(kNetFCsum) | bit(kNetFGuestCsum) |
         bit(kNetFHostTso4) | bit(kNetFHostTso6) | bit(kNetFGuestTso4) | bit(kNetFGuestTso6) |
         bit(kFInOrder) | bit(kFRingPacked) | bit(kNetFGuestAnnounce) | bit(kVhostFLogAll);
}

std::string net_feature_names(uint64_t bits) {
  using namespace virtio;
  static constexpr FeatureName kNames[] = {{kFVersion1, "version_1"},
                                           {kFRingIndirectDesc, "indirect"},
                                           {kFRingEventIdx, "event_idx"},
                                           {kFInOrder, "in_order"},
                                           {kFRingPacked, "ring_packed"},
                                           {kNetFMrgRxbuf, "mrg_rxbuf"},
                                           {kNetFMq, "mq"},
                                           {kNetFMtu, "mtu"},
                                           {kNetFCsum, "csum"},
                                           {kNetFGuestCsum, "guest_csum"},
                                           {kNetFHostTso4, "host_tso4"},
                                           {kNetFHostTso6, "host_tso6"},
                                           {kNetFGuestTso4, "guest_tso4"},
                                           {kNetFGuestTso6, "guest_tso6"},
                                           {kNetFGuestAnnounce, "guest_announce"},
                                           {kVhostFLogAll, "log_all"}};
  return feature_names(bits, kNames);
}

namespace {

BackendConfig backend_config(const NetDeviceConfig& c) {
  BackendConfig b;
  b.name = c.name;
  b.features = offered_net_features() & ~c.disabled_features;
  // LOG_SHMFD: QEMU migrates a guest only when the backend logs through a shared fd.
  b.protocol_features =
      kCommonProtocolFeatures | virtio::bit(protocol::kMtu) | virtio::bit(protocol::kLogShmfd);
  uint16_t pairs = std::clamp<uint16_t>(c.max_queue_pairs, 1, NetDevice::kMaxQueuePairs);
  b.vring_count = static_cast<uint16_t>(2 * pairs);
  return b;
}

}  // namespace

NetDevice::NetDevice(const NetDeviceConfig& config, QuiescentState* grace)
    : VhostUserBackend(backend_config(config), grace) {
  // In the guest's terms, as the frontend numbers them: virtqueue 2n is pair n's RX.
  for (uint16_t i = 0; i < vring_count(); ++i) {
    set_vring_label(i, name() + " queue " + std::to_string(i) + " (" + (i % 2 ? "tx" : "rx") +
                           " of pair " + std::to_string(i / 2) + ")");
  }
}

void NetDevice::on_features(uint64_t acked) {
  features_ = net::NetFeatures::from_bits(acked);
  log_limit().log(LogLevel::info, name() + ": features " + net_feature_names(acked));
}

std::optional<Status> NetDevice::handle_device_request(const Message& message) {
  if (message.request() != Request::net_set_mtu) return std::nullopt;
  uint64_t mtu = message.u64();
  if (mtu < 68 || mtu > 65535) {
    return Status(Error(EINVAL, "NET_SET_MTU: " + std::to_string(mtu) + " is outside 68-65535"));
  }
  mtu_ = static_cast<uint32_t>(mtu);
  return Status();
}

}  // namespace ringlane::vhost_user
