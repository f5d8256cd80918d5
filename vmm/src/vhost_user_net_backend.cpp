#include "ringlane/vmm/vhost_user_net_backend.h"

#include <thread>

#include "ringlane/vhost_user/virtio_spec.h"

namespace ringlane::vmm {

namespace {
// Features the VMM implements itself, in the device's configuration space: the backend serves
// queues only and is never asked for them.
constexpr uint64_t kConfigSpaceFeatures =
    virtio::bit(virtio::kNetFMac) | virtio::bit(virtio::kNetFStatus);
}  // namespace

Result<std::unique_ptr<VhostUserNetBackend>> VhostUserNetBackend::create(
    const std::string& socket_path, const GuestRam& ram) {
  Result<vhost_user::VhostUserFrontend> frontend =
      vhost_user::VhostUserFrontend::connect(socket_path);
  if (!frontend.ok()) {
    return Error(frontend.error().code(),
                 "vhost-user socket " + socket_path + ": " + frontend.error().message());
  }
  Result<uint64_t> features = frontend->get_features();
  if (!features.ok()) return features.error();
  RINGLANE_TRY(frontend->set_owner());
  vhost_user::SharedRegion region{0, ram.size(), reinterpret_cast<uint64_t>(ram.base()), 0,
                                  ram.fd()};
  RINGLANE_TRY(frontend->set_mem_table(&region, 1));
  return std::unique_ptr<VhostUserNetBackend>(
      new VhostUserNetBackend(std::move(*frontend), ram, *features));
}

vhost_user::FrontendVring VhostUserNetBackend::vring(uint32_t index, const VirtqueueConfig& q,
                                                     uint16_t next_avail) const {
  auto host = [&](uint64_t gpa) { return reinterpret_cast<uint64_t>(ram_.base()) + gpa; };
  return {index,        q.size,     host(q.desc), host(q.avail),
          host(q.used), next_avail, q.kick_fd,    q.call_fd};
}

Status VhostUserNetBackend::start(const NetQueues& queues) {
  if (running_) return Error(EBUSY, "vhost-user backend already serving");
  uint64_t features = queues.features & ~kConfigSpaceFeatures;
  if ((features & ~backend_features_) != 0) {
    return Error(ENOTSUP, "the vhost-user backend does not offer features " +
                              std::to_string(features & ~backend_features_) +
                              " the driver negotiated");
  }
  // The rings must lie in RAM: the backend would refuse them, but say why here.
  if (ram_.bytes(queues.rx.desc, 1).empty() || ram_.bytes(queues.tx.desc, 1).empty()) {
    return Error(EFAULT, "virtqueue rings outside guest memory");
  }
  // Features may change only with the rings stopped (they are, between start and stop).
  if (acked_ != features) {
    RINGLANE_TRY(frontend_.set_features(features));
    acked_ = features;
  }
  RINGLANE_TRY(frontend_.start_vring(vring(0, queues.rx, queues.rx_next_avail)));
  RINGLANE_TRY(frontend_.start_vring(vring(1, queues.tx, queues.tx_next_avail)));
  running_ = true;
  return {};
}

Result<QueuePositions> VhostUserNetBackend::stop() {
  if (!running_) return QueuePositions{};
  running_ = false;
  Result<uint16_t> tx = frontend_.stop_vring(1);
  if (!tx.ok()) return tx.error();
  std::this_thread::sleep_for(kReceiveDrain);
  Result<uint16_t> rx = frontend_.stop_vring(0);
  if (!rx.ok()) return rx.error();
  return QueuePositions{*rx, *tx};
}

}  // namespace ringlane::vmm
