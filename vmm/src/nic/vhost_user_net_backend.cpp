#include "ringlane/vmm/nic/vhost_user_net_backend.h"

#include "ringlane/base/log.h"
#include "ringlane/virtio/spec.h"
#include "ringlane/vmm/nic/receive_drain.h"

namespace ringlane::vmm {

namespace {
// Features the VMM implements itself, in the device's configuration space: the backend serves
// queues only and is never asked for them.
constexpr uint64_t kConfigSpaceFeatures =
    virtio::bit(virtio::kNetFMac) | virtio::bit(virtio::kNetFStatus);
constexpr uint32_t kRxRing = 0;
constexpr uint32_t kTxRing = 1;
}  // namespace

Result<std::unique_ptr<VhostUserNetBackend>> VhostUserNetBackend::create(
    const std::string& socket_path, const GuestRam& ram) {
  auto failed = [&](const Error& e) {
    return Error(e.code(), "vhost-user socket " + socket_path + ": " + e.message());
  };
  Result<vhost_user::VhostUserFrontend> frontend =
      vhost_user::VhostUserFrontend::connect(socket_path);
  if (!frontend.ok()) return failed(frontend.error());
  Result<uint64_t> features = frontend->get_features();
  if (!features.ok()) return failed(features.error());
  if (Status s = frontend->set_owner(); !s.ok()) return failed(s.error());
  vhost_user::SharedRegion region{0, ram.size(), reinterpret_cast<uint64_t>(ram.base()), 0,
                                  ram.fd()};
  if (Status s = frontend->set_mem_table(&region, 1); !s.ok()) return failed(s.error());
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
  if (!frontend_.usable()) {
    return Error(ENOTCONN, "the vhost-user connection has ended (" + frontend_.end_reason() + ")");
  }
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
  queues_ = queues;
  // Features may change only with the rings stopped (they are, between start and stop).
  if (acked_ != features) {
    RINGLANE_TRY(frontend_.set_features(features));
    acked_ = features;
  }
  // Receive first: answers to the guest's first frames find the ring up.
  if (Status s = frontend_.start_vring(vring(kRxRing, queues.rx, queues.rx_next_avail)); !s.ok()) {
    return abandon_start(s.error(), {kRxRing});
  }
  if (Status s = frontend_.start_vring(vring(kTxRing, queues.tx, queues.tx_next_avail)); !s.ok()) {
    return abandon_start(s.error(), {kRxRing, kTxRing});
  }
  running_ = true;
  return {};
}

Status VhostUserNetBackend::abandon_start(const Error& why, std::initializer_list<uint32_t> rings) {
  // A ring the backend started (or may have started: the failing request may have been carried
  // out) is taken back, so it never serves the rings beside whoever serves them next.
  for (uint32_t ring : rings) {
    if (!frontend_.usable()) break;
    (void)frontend_.stop_vring(ring);
  }
  if (!frontend_.usable() && !frontend_.release(kReleaseWait)) {
    running_ = true;  // it may still hold them
    return Error(why.code(), "starting the vhost-user backend failed (" + why.message() +
                                 "), and it has not let go of the rings");
  }
  return Error(why.code(), "starting the vhost-user backend failed: " + why.message());
}

uint64_t VhostUserNetBackend::receive_used_index() const {
  std::span<uint8_t> used = ram_.bytes(queues_.rx.used, 4);
  if (used.empty()) return 0;
  return __atomic_load_n(reinterpret_cast<const uint16_t*>(used.data() + 2), __ATOMIC_ACQUIRE);
}

Result<QueuePositions> VhostUserNetBackend::stop() {
  if (!running_) return Error(EINVAL, "the vhost-user backend is not serving");
  Result<uint16_t> tx = frontend_.stop_vring(kTxRing);
  if (tx.ok()) {
    // The backend's receive ring keeps going until answers to the guest's frames stop coming.
    if (!drain_until_quiet([this] { return receive_used_index(); })) {
      log_line(LogLevel::warn, "vhost-user backend: frames still arriving after " +
                                   std::to_string(kDrainLimit.count()) +
                                   " ms of drain; stopping the receive ring anyway");
    }
    Result<uint16_t> rx = frontend_.stop_vring(kRxRing);
    if (rx.ok()) {
      running_ = false;
      return QueuePositions{*rx, *tx};
    }
  }
  // The backend failed or did not answer, and the connection has ended. It has let go of the
  // rings once it closes its end; until then nothing else may serve them.
  std::string why = frontend_.end_reason();
  if (!frontend_.release(kReleaseWait)) {
    return Error(ETIMEDOUT, "the vhost-user backend stopped answering (" + why +
                                ") and has not closed the connection within " +
                                std::to_string(kReleaseWait.count()) +
                                " ms: it may still use the rings, so they stay with it");
  }
  running_ = false;
  return Error(ECONNRESET, "the vhost-user backend did not say where it stopped (" + why +
                               "); it has closed the connection");
}

}  // namespace ringlane::vmm
