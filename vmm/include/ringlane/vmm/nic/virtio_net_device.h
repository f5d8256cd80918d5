// VirtioNetDevice: a virtio-net device (one queue pair) whose queues a NetBackend serves: the
// VMM's own thread with a TAP device ("virtio" mode) or ringlane over vhost-user ("vhost" mode).
// switch_backend() moves a running device from one to the other: the current backend stops with
// every taken buffer returned, and the next one resumes at the same ring positions.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "ringlane/virtio/guest_memory.h"
#include "ringlane/virtio/spec.h"
#include "ringlane/vmm/nic/net_backend.h"
#include "ringlane/vmm/virtio/virtio_device.h"

namespace ringlane::vmm {

struct VirtioNetConfig {
  std::string name = "net0";
  uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
  uint16_t queue_size = 256;
};

class VirtioNetDevice : public VirtioDevice {
 public:
  // `memory` is the guest's RAM as the backends see it.
  VirtioNetDevice(VirtioNetConfig config, const virtio::GuestMemory& memory,
                  std::unique_ptr<NetBackend> backend);
  ~VirtioNetDevice() override;

  std::string name() const override { return config_.name; }
  uint16_t device_id() const override { return virtio::kDeviceTypeNet; }
  uint64_t offered_features() const override;
  uint16_t queue_count() const override { return 2; }
  uint16_t queue_max_size() const override { return config_.queue_size; }
  void read_config(uint64_t offset, std::span<uint8_t> data) const override;
  Status activate(uint64_t features, std::span<const VirtqueueConfig> queues) override;
  void reset() override;

  // Hands the queues to `next` (running or not). Returns the backend that was replaced. On
  // failure the queues stay with (or go back to) the current backend, unless it cannot serve
  // them any more, and backend_kind() says who serves them.
  Result<std::unique_ptr<NetBackend>> switch_backend(std::unique_ptr<NetBackend> next);
  std::string backend_kind() const;
  bool active() const;
  // The current backend's counters.
  NetBackendCounters counters() const;

 private:
  // Stops the current backend and records where the next one resumes (checked against the
  // used rings). Fails, leaving the rings where they are, when the backend may still use them.
  Status take_back();
  // Where a server that completes every buffer it takes stopped, by the used rings.
  Result<QueuePositions> completed_positions() const;
  // The recorded positions agree with the used rings.
  Status check_positions() const;

  VirtioNetConfig config_;
  const virtio::GuestMemory& memory_;
  mutable std::mutex mutex_;  // vCPU (activate, reset) against the API thread (switch)
  std::unique_ptr<NetBackend> backend_;
  bool active_ = false;
  NetQueues queues_;
};

}  // namespace ringlane::vmm
