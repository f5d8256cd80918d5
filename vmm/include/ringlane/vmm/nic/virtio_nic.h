// VirtioNic: a virtio-net-pci card that can be served in "virtio" mode (a VMM thread and a TAP
// device) or "vhost" mode (a vhost-user backend), and switched between them live. The backend not
// in use is kept (the TAP open, the vhost-user connection up with its rings stopped) so switching
// back costs no set-up.
#pragma once

#include <memory>
#include <mutex>

#include "ringlane/vmm/nic/nic.h"
#include "ringlane/vmm/nic/virtio_net_device.h"
#include "ringlane/vmm/virtio/virtio_pci_device.h"

namespace ringlane::vmm {

class VirtioNic : public Nic {
 public:
  static Result<std::unique_ptr<Nic>> create(Machine& machine, const NicSpec& spec);

  const std::string& name() const override { return spec_.name; }
  std::string model() const override { return "virtio-net"; }
  NicMode mode() const override;
  std::array<uint8_t, 6> mac() const override { return spec_.mac; }
  bool active() const override { return device_->active(); }
  // Both backends' counters summed (each counts only what it moved).
  NetBackendCounters counters() const override;
  Status set_mode(NicMode mode) override;

 private:
  VirtioNic(Machine& machine, NicSpec spec) : machine_(machine), spec_(std::move(spec)) {}
  // A new backend for `mode` (opening the TAP or connecting to the socket).
  Result<std::unique_ptr<NetBackend>> make_backend(NicMode mode) const;

  Machine& machine_;
  NicSpec spec_;
  mutable std::mutex mutex_;  // API calls against each other
  std::shared_ptr<VirtioNetDevice> device_;
  std::unique_ptr<NetBackend> parked_;  // the other mode's backend, once it has been used
};

}  // namespace ringlane::vmm
