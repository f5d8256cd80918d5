#include "ringlane/vmm/nic/passthrough_nic.h"

#include "ringlane/base/log.h"

namespace ringlane::vmm {

Result<std::unique_ptr<Nic>> PassthroughNic::create(Machine& machine, const NicSpec& spec) {
  auto address = vfio::PciAddress::parse(spec.pci);
  if (!address.ok()) return address.error();
  auto device = PassthroughDevice::create(machine, *address);
  if (!device.ok()) return device.error();
  auto slot = machine.pci().add(*device);
  if (!slot.ok()) return slot.error();
  log_line(LogLevel::info, spec.name + ": " + (*device)->name() + " (" + (*device)->ids() +
                               ") in slot " + std::to_string(*slot));
  return std::unique_ptr<Nic>(new PassthroughNic(spec, std::move(*device)));
}

Status PassthroughNic::set_mode(NicMode mode) {
  if (mode == NicMode::passthrough) return {};
  return Error(EINVAL, spec_.name + " is a passed-through device: its guest would need another " +
                           "driver for " + to_string(mode) + " mode, so it cannot switch live");
}

}  // namespace ringlane::vmm
