// A guest NIC: as the command line (and the API) describes it, and as the VMM holds it once it is
// on the machine's PCI bus: its name, model, current mode, counters, and the live mode switch.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "ringlane/base/result.h"
#include "ringlane/vmm/machine/machine.h"
#include "ringlane/vmm/nic/net_backend.h"

namespace ringlane::vmm {

enum class NicMode {
  emulated,     // an Intel 82540EM (e1000) model, every register access a VM exit, frames to a TAP
  virtio,       // virtio-net-pci, queues served by a VMM thread, frames to a TAP device
  vhost,        // virtio-net-pci, queues served by a vhost-user backend (ringlane)
  passthrough,  // a host PCI device (a NIC or an SR-IOV VF) given to the guest through VFIO
};
const char* to_string(NicMode mode);
Result<NicMode> parse_nic_mode(const std::string& text);

struct NicSpec {
  std::string name;  // net0, net1, ...
  NicMode mode = NicMode::virtio;
  std::string tap;     // TAP device for emulated and virtio modes
  std::string socket;  // vhost-user socket for vhost mode
  // A ringlane daemon's API socket: the daemon is asked to create the vhost-user port (and to
  // remove it), on `socket` or a path the VMM chooses (daemon_port.h), named `port` or
  // vm<pid>-<name>, cross-connected with `peer` when given.
  std::string daemon;
  std::string port;
  std::string peer;
  std::string pci;  // the host device's address (BDF) for passthrough mode
  std::array<uint8_t, 6> mac{};
  uint16_t queue_size = 256;
};

// Parses "mode=emulated|virtio|vhost[,tap=NAME][,socket=PATH][,mac=..][,queue-size=N]"
// (virtio and vhost also "[,daemon=API_SOCK[,port=NAME][,peer=NAME]]") or
// "mode=passthrough,pci=BDF"; `index` names the NIC (net<index>) and picks its default MAC
// address (52:54:00:12:34:56 + index; a passed-through device keeps its own). Unknown and
// repeated keys are refused.
Result<NicSpec> parse_nic_spec(const std::string& text, size_t index);

class Nic {
 public:
  virtual ~Nic() = default;
  virtual const std::string& name() const = 0;
  virtual std::string model() const = 0;  // "virtio-net", "e1000"
  virtual NicMode mode() const = 0;
  virtual std::array<uint8_t, 6> mac() const = 0;
  // The driver has started the device (and not reset it since).
  virtual bool active() const = 0;
  virtual NetBackendCounters counters() const = 0;
  // Moves the NIC to another mode while the guest runs; refused when the model cannot.
  virtual Status set_mode(NicMode mode) = 0;
  // The VM is ending: gives back what the NIC holds outside the VMM (a port a ringlane daemon
  // created for it), now rather than when it is destroyed, for exits that destroy nothing (a
  // terminating signal). Any thread, any number of times; the NIC no longer switches afterwards.
  virtual void shut_down() {}
};

// Builds the NIC and its backend and puts it on the machine's PCI bus.
Result<std::unique_ptr<Nic>> attach_nic(Machine& machine, const NicSpec& spec);

}  // namespace ringlane::vmm
