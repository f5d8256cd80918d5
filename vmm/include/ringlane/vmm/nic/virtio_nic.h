// VirtioNic: a virtio-net-pci card that can be served in "virtio" mode (a VMM thread and a TAP
// device) or "vhost" mode (a vhost-user backend), and switched between them live. The backend not
// in use is kept (the TAP open, the vhost-user connection up with its rings stopped) so switching
// back costs no set-up. With daemon= the vhost-user port is a ringlane daemon's that the NIC has it
// create when vhost mode begins and remove when it ends (daemon_port.h); its connection is then
// not kept parked: the port goes with it.
#pragma once

#include <memory>
#include <mutex>
#include <optional>

#include "ringlane/vmm/nic/daemon_port.h"
#include "ringlane/vmm/nic/nic.h"
#include "ringlane/vmm/nic/virtio_net_device.h"
#include "ringlane/vmm/virtio/virtio_pci_device.h"

namespace ringlane::vmm {

class VirtioNic : public Nic {
 public:
  static Result<std::unique_ptr<Nic>> create(Machine& machine, const NicSpec& spec);
  // With a daemon's port: stops the device's backend before the port goes, so that neither side
  // sees the connection cut under running rings.
  ~VirtioNic() override;

  const std::string& name() const override { return spec_.name; }
  std::string model() const override { return "virtio-net"; }
  NicMode mode() const override;
  std::array<uint8_t, 6> mac() const override { return spec_.mac; }
  bool active() const override { return device_->active(); }
  // Both backends' counters summed (each counts only what it moved).
  NetBackendCounters counters() const override;
  Status set_mode(NicMode mode) override;
  // Removes the daemon's port, if there is one, and refuses switches from now on.
  void shut_down() override;

 private:
  VirtioNic(Machine& machine, NicSpec spec) : machine_(machine), spec_(std::move(spec)) {}
  // A new backend for `mode` (opening the TAP, or connecting to the socket: with a daemon, once
  // it has created the port).
  Result<std::unique_ptr<NetBackend>> make_backend(NicMode mode);
  // With a daemon, once the queues are the TAP backend's: closes the vhost-user connection, then
  // has the daemon remove the port. A failure to remove it is logged, and the port kept for the
  // next switch to vhost (and removed again at exit).
  void release_daemon_port();

  Machine& machine_;
  NicSpec spec_;
  mutable std::mutex mutex_;  // API calls against each other (and shut_down)
  // The port to ask the daemon for (daemon= given), and the port while it exists. Declared before
  // the backends: a NIC destroyed closes its connection before the port goes.
  std::optional<DaemonPortSpec> daemon_spec_;
  std::optional<DaemonPort> daemon_port_;
  bool shut_down_ = false;
  std::shared_ptr<VirtioNetDevice> device_;
  std::unique_ptr<NetBackend> parked_;  // the other mode's backend, once it has been used
};

}  // namespace ringlane::vmm
