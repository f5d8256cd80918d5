// VirtioDevice: a virtio device behind a transport (virtio_pci_device.h). The transport runs
// feature negotiation, queue set-up and status; the device says what it offers, exposes its
// configuration, and serves the queues between activate() and reset().
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "ringlane/base/result.h"

namespace ringlane::vmm {

// One virtqueue as the driver set it up (guest physical addresses), with the VMM's eventfds.
struct VirtqueueConfig {
  uint16_t size = 0;
  uint64_t desc = 0;
  uint64_t avail = 0;
  uint64_t used = 0;
  bool enabled = false;
  int kick_fd = -1;  // signalled by KVM when the driver writes the queue's doorbell
  int call_fd = -1;  // signal to interrupt the driver (an irqfd while its vector is active)
};

class VirtioDevice {
 public:
  virtual ~VirtioDevice() = default;
  virtual std::string name() const = 0;
  virtual uint16_t device_id() const = 0;  // virtio device type (virtio::kDeviceType*)
  virtual uint64_t offered_features() const = 0;
  virtual uint16_t queue_count() const = 0;
  virtual uint16_t queue_max_size() const = 0;
  virtual void read_config(uint64_t offset, std::span<uint8_t> data) const = 0;
  virtual void write_config(uint64_t offset, std::span<const uint8_t> data) {
    (void)offset;
    (void)data;
  }
  // DRIVER_OK: serve `queues` with the negotiated `features`. An error (rings outside guest
  // memory, a backend that cannot start) puts the device in DEVICE_NEEDS_RESET.
  virtual Status activate(uint64_t features, std::span<const VirtqueueConfig> queues) = 0;
  // The driver reset the device: stop serving; nothing may touch guest memory afterwards.
  virtual void reset() = 0;
};

}  // namespace ringlane::vmm
