#include "ringlane/vmm/nic/virtio_net_device.h"

#include <cstring>

#include "ringlane/base/log.h"
#include "ringlane/virtio/ring_resume.h"
#include "ringlane/virtio/spec.h"
#include "ringlane/vmm/virtio/ring_layout.h"

namespace ringlane::vmm {

VirtioNetDevice::VirtioNetDevice(VirtioNetConfig config, const virtio::GuestMemory& memory,
                                 std::unique_ptr<NetBackend> backend)
    : config_(std::move(config)), memory_(memory), backend_(std::move(backend)) {}

VirtioNetDevice::~VirtioNetDevice() {
  reset();
}

uint64_t VirtioNetDevice::offered_features() const {
  // What both backends serve the same way, so a switch never changes the contract: no offloads,
  // no multiqueue, no control queue.
  using virtio::bit;
  return bit(virtio::kFVersion1) | bit(virtio::kNetFMac) | bit(virtio::kNetFStatus) |
         bit(virtio::kNetFMrgRxbuf) | bit(virtio::kFRingEventIdx);
}

void VirtioNetDevice::read_config(uint64_t offset, std::span<uint8_t> data) const {
  virtio::NetConfig c{};
  std::memcpy(c.mac, config_.mac, sizeof(c.mac));
  c.status = virtio::kNetSLinkUp;
  c.max_virtqueue_pairs = 1;
  if (offset + data.size() > sizeof(c)) return;  // zeroes past the structure
  std::memcpy(data.data(), reinterpret_cast<const uint8_t*>(&c) + offset, data.size());
}

Status VirtioNetDevice::activate(uint64_t features, std::span<const VirtqueueConfig> queues) {
  std::lock_guard lock(mutex_);
  if (queues.size() != 2) return Error(EINVAL, "virtio-net needs two queues");
  queues_ = {};
  queues_.features = features;
  queues_.nic = config_.name;
  queues_.memory = &memory_;
  queues_.rx = queues[0];
  queues_.tx = queues[1];
  RINGLANE_TRY(backend_->start(queues_));
  active_ = true;
  return {};
}

void VirtioNetDevice::reset() {
  std::lock_guard lock(mutex_);
  if (active_) {
    if (Result<QueuePositions> at = backend_->stop(); !at.ok()) {
      log_line(LogLevel::warn, config_.name + ": stopping the " + backend_->kind() +
                                   " backend at reset: " + at.error().message());
    }
  }
  active_ = false;
}

Result<QueuePositions> VirtioNetDevice::completed_positions() const {
  Result<virtio::RingLayout> rx = ring_layout(memory_, queues_.rx);
  if (!rx.ok()) return rx.error();
  Result<virtio::RingLayout> tx = ring_layout(memory_, queues_.tx);
  if (!tx.ok()) return tx.error();
  return QueuePositions{__atomic_load_n(&rx->used->idx, __ATOMIC_ACQUIRE),
                        __atomic_load_n(&tx->used->idx, __ATOMIC_ACQUIRE)};
}

Status VirtioNetDevice::check_positions() const {
  Result<QueuePositions> used = completed_positions();
  if (!used.ok()) return used.error();
  if (Status s = virtio::check_resume_position(used->rx_next_avail, queues_.rx_next_avail);
      !s.ok()) {
    return Error(s.error().code(), "receive queue: " + s.error().message());
  }
  if (Status s = virtio::check_resume_position(used->tx_next_avail, queues_.tx_next_avail);
      !s.ok()) {
    return Error(s.error().code(), "transmit queue: " + s.error().message());
  }
  return {};
}

Status VirtioNetDevice::take_back() {
  Result<QueuePositions> at = backend_->stop();
  if (!at.ok()) {
    if (backend_->running()) return at.error();  // it may still use the rings: they stay there
    // Stopped without saying where: every buffer it took came back, so the used rings tell.
    log_line(LogLevel::warn, config_.name + ": " + backend_->kind() + " backend: " +
                                 at.error().message() + "; resuming where the used rings stand");
    at = completed_positions();
    if (!at.ok()) return at.error();
  }
  queues_.rx_next_avail = at->rx_next_avail;
  queues_.tx_next_avail = at->tx_next_avail;
  return check_positions();
}

Result<std::unique_ptr<NetBackend>> VirtioNetDevice::switch_backend(
    std::unique_ptr<NetBackend> next) {
  std::lock_guard lock(mutex_);
  if (active_) {
    if (Status s = take_back(); !s.ok()) {
      if (backend_->running()) {
        return Error(s.error().code(), "cannot take the queues back from the " + backend_->kind() +
                                           " backend: " + s.error().message());
      }
      // Positions that disagree with the used rings: no backend may start there.
      active_ = false;
      log_line(LogLevel::error, config_.name + ": " + s.error().message() +
                                    "; the device needs a reset by its driver");
      return s.error();
    }
    if (Status s = next->start(queues_); !s.ok()) {
      if (next->running()) {
        // It failed half-way and could not be made to let go: it holds the rings now.
        log_line(LogLevel::error, config_.name + ": " + s.error().message());
        backend_ = std::move(next);
        return s.error();
      }
      // Keep serving with the old backend rather than leave the guest without a NIC. The new one
      // may have served a little before it failed: the used rings say where it left off.
      if (Result<QueuePositions> at = completed_positions(); at.ok()) {
        queues_.rx_next_avail = at->rx_next_avail;
        queues_.tx_next_avail = at->tx_next_avail;
      }
      if (Status back = backend_->start(queues_); !back.ok()) {
        log_line(LogLevel::error, config_.name + ": cannot restart " + backend_->kind() +
                                      " backend either: " + back.error().to_string());
        active_ = false;
      }
      return s.error();
    }
  }
  std::unique_ptr<NetBackend> previous = std::move(backend_);
  backend_ = std::move(next);
  log_line(LogLevel::info, config_.name + ": now served by the " + backend_->kind() + " backend");
  return previous;
}

std::string VirtioNetDevice::backend_kind() const {
  std::lock_guard lock(mutex_);
  return backend_->kind();
}

bool VirtioNetDevice::active() const {
  std::lock_guard lock(mutex_);
  return active_;
}

NetBackendCounters VirtioNetDevice::counters() const {
  std::lock_guard lock(mutex_);
  return backend_->counters();
}

}  // namespace ringlane::vmm
