#include "ringlane/vmm/nic/virtio_nic.h"

#include <unistd.h>

#include <climits>

#include "ringlane/base/log.h"
#include "ringlane/vmm/nic/tap_net_backend.h"
#include "ringlane/vmm/nic/vhost_user_net_backend.h"

namespace ringlane::vmm {

Result<std::unique_ptr<Nic>> VirtioNic::create(Machine& machine, const NicSpec& spec) {
  std::unique_ptr<VirtioNic> nic(new VirtioNic(machine, spec));
  if (!spec.daemon.empty()) {
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof(cwd)) == nullptr) return errno_error("getcwd");
    Result<DaemonPortSpec> port = daemon_port_spec(spec, getpid(), cwd);
    if (!port.ok()) return port.error();
    nic->daemon_spec_ = std::move(*port);
  }
  Result<std::unique_ptr<NetBackend>> backend = nic->make_backend(spec.mode);
  if (!backend.ok()) return backend.error();
  VirtioNetConfig config;
  config.name = spec.name;
  std::copy(spec.mac.begin(), spec.mac.end(), config.mac);
  config.queue_size = spec.queue_size;
  nic->device_ =
      std::make_shared<VirtioNetDevice>(config, machine.guest_memory(), std::move(*backend));
  Result<std::shared_ptr<VirtioPciDevice>> pci =
      VirtioPciDevice::create(nic->device_, machine.vm(), machine.gsi_routing());
  if (!pci.ok()) return pci.error();
  Result<int> slot = machine.pci().add(*pci);
  if (!slot.ok()) return slot.error();
  (*pci)->set_interrupt_line(
      std::make_unique<KvmInterruptLine>(machine.vm(), PciBus::intx_gsi(*slot)));
  return std::unique_ptr<Nic>(std::move(nic));
}

VirtioNic::~VirtioNic() {
  // The VM has ended (or never started): nothing drives the device any more.
  if (daemon_port_ && device_) device_->reset();
}

Result<std::unique_ptr<NetBackend>> VirtioNic::make_backend(NicMode mode) {
  if (mode == NicMode::virtio) {
    if (spec_.tap.empty()) return Error(EINVAL, spec_.name + " has no tap= for virtio mode");
    Result<uplink::TapDevice> tap = uplink::TapDevice::open(spec_.tap);
    if (!tap.ok()) return tap.error();
    Result<std::unique_ptr<TapNetBackend>> b = TapNetBackend::create(std::move(*tap));
    if (!b.ok()) return b.error();
    return std::unique_ptr<NetBackend>(std::move(*b));
  }
  if (daemon_spec_) {
    // The daemon listens once it has answered, so the connection can follow at once. A port
    // left from a switch whose removal failed is used again.
    if (!daemon_port_ || !daemon_port_->exists()) {
      Result<DaemonPort> port = DaemonPort::create(*daemon_spec_);
      if (!port.ok()) return port.error();
      daemon_port_.emplace(std::move(*port));
    }
    Result<std::unique_ptr<VhostUserNetBackend>> b =
        VhostUserNetBackend::create(daemon_spec_->socket_path, machine_.ram());
    if (!b.ok()) {
      daemon_port_.reset();  // removes it: nothing uses it
      return b.error();
    }
    return std::unique_ptr<NetBackend>(std::move(*b));
  }
  if (spec_.socket.empty()) return Error(EINVAL, spec_.name + " has no socket= for vhost mode");
  Result<std::unique_ptr<VhostUserNetBackend>> b =
      VhostUserNetBackend::create(spec_.socket, machine_.ram());
  if (!b.ok()) return b.error();
  return std::unique_ptr<NetBackend>(std::move(*b));
}

void VirtioNic::release_daemon_port() {
  if (!daemon_port_ || mode() != NicMode::virtio) return;
  // The parked vhost-user backend first: the daemon then sees its frontend leave, with the
  // rings stopped, rather than a port taken from under a connection.
  if (parked_ && parked_->kind() == "vhost-user") parked_.reset();
  if (Status removed = daemon_port_->remove(); !removed.ok()) {
    log_line(LogLevel::warn, spec_.name + ": " + removed.error().to_string() +
                                 "; the port is kept for the next switch to vhost");
    return;
  }
  daemon_port_.reset();
}

void VirtioNic::shut_down() {
  std::lock_guard lock(mutex_);
  shut_down_ = true;
  if (daemon_port_) {
    if (Status removed = daemon_port_->remove(); !removed.ok()) {
      log_line(LogLevel::warn, spec_.name + ": " + removed.error().to_string() +
                                   "; it stays until deleted by hand");
    }
    daemon_port_.reset();
  }
}

NicMode VirtioNic::mode() const {
  // Whoever holds the queues, whatever was asked for last: after a failed switch that is the
  // truth an operator needs.
  return device_->backend_kind() == "tap" ? NicMode::virtio : NicMode::vhost;
}

NetBackendCounters VirtioNic::counters() const {
  std::lock_guard lock(mutex_);
  NetBackendCounters total = device_->counters();
  if (parked_) total += parked_->counters();
  return total;
}

Status VirtioNic::set_mode(NicMode mode) {
  if (mode == NicMode::emulated || mode == NicMode::passthrough) {
    return Error(EINVAL, spec_.name +
                             " is a virtio-net card: its guest would need another driver "
                             "for " +
                             to_string(mode) + " mode, so it cannot switch live");
  }
  std::lock_guard lock(mutex_);
  if (shut_down_) return Error(ESHUTDOWN, spec_.name + ": the VM is ending");
  if (mode == this->mode()) return {};
  std::unique_ptr<NetBackend> next = std::move(parked_);
  // A vhost-user backend whose connection ended cannot serve again: connect anew.
  if (next && !next->usable()) next.reset();
  if (!next) {
    Result<std::unique_ptr<NetBackend>> made = make_backend(mode);
    if (!made.ok()) return made.error();
    next = std::move(*made);
  }
  Result<std::unique_ptr<NetBackend>> previous = device_->switch_backend(std::move(next));
  if (previous.ok()) parked_ = std::move(*previous);
  // Whatever happened, a daemon's port goes once the TAP backend holds the queues (a switch to
  // vhost that failed, or one away from it that succeeded).
  release_daemon_port();
  if (!previous.ok()) return previous.error();
  return {};
}

}  // namespace ringlane::vmm
