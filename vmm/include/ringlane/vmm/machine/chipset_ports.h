// ChipsetPorts: ports 0xcf8-0xcff as a PC chipset decodes them: PCI configuration mechanism 1
// (PciBus: the address at 0xcf8, the data at 0xcfc-0xcff), except a byte access to 0xcf9, which
// is the PIIX/ICH reset control register, inside the address port's dword. Writing it with bit 2
// (system reset) set resets the machine; it reads as 0. Every other access, whatever its width,
// is the PCI bus's, which answers and counts the ones mechanism 1 gives no meaning to.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "ringlane/vmm/machine/bus_device.h"
#include "ringlane/vmm/pci/pci_bus.h"

namespace ringlane::vmm {

class ChipsetPorts final : public BusDevice {
 public:
  static constexpr uint16_t kBase = PciBus::kConfigAddressPort;
  static constexpr uint16_t kPorts = PciBus::kConfigDataPort + 4 - kBase;

  // `reset` runs when the guest asks for a system reset.
  ChipsetPorts(PciBus& pci, std::function<void()> reset) : pci_(pci), reset_(std::move(reset)) {}

  bool read(uint64_t base, uint64_t offset, std::span<uint8_t> data) override;
  bool write(uint64_t base, uint64_t offset, std::span<const uint8_t> data) override;

 private:
  PciBus& pci_;
  std::function<void()> reset_;
};

}  // namespace ringlane::vmm
