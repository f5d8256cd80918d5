#include "ringlane/vmm/nic/e1000_nic.h"

namespace ringlane::vmm {

Result<std::unique_ptr<Nic>> E1000Nic::create(Machine& machine, const NicSpec& spec) {
  Result<uplink::TapDevice> tap = uplink::TapDevice::open(spec.tap);
  if (!tap.ok()) return tap.error();
  Result<std::shared_ptr<E1000Device>> device =
      E1000Device::create(machine.guest_memory(), std::move(*tap), spec.mac);
  if (!device.ok()) return device.error();
  Result<int> slot = machine.pci().add(*device);
  if (!slot.ok()) return slot.error();
  (*device)->set_interrupt_line(
      std::make_unique<KvmInterruptLine>(machine.vm(), PciBus::intx_gsi(*slot)));
  return std::unique_ptr<Nic>(new E1000Nic(spec, std::move(*device)));
}

Status E1000Nic::set_mode(NicMode mode) {
  if (mode == NicMode::emulated) return {};
  return Error(EINVAL, spec_.name +
                           " is an emulated e1000: its guest would need another driver "
                           "for " +
                           to_string(mode) + " mode, so it cannot switch live");
}

}  // namespace ringlane::vmm
