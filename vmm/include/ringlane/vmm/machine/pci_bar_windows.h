// PciBarWindows: the PCI bus's BARs on the machine's two IoBuses. Every BAR that decodes (its
// kind of decoding on in the command register, an address that is not one being sized) has its
// range registered on the port I/O bus (I/O BARs) or the MMIO bus (memory BARs) with a window
// that hands its accesses to the device's bar_read/bar_write; an access must lie wholly inside
// the BAR, or the window does not answer it.
//
// sync() runs whenever the PCI bus says decoding may have changed (a device plugged, a BAR or
// a command register written): ranges that moved or stopped decoding leave their bus first, then
// every BAR that decodes and is not on its bus is registered, in slot and BAR order. A BAR whose
// place overlaps another range (another BAR, a legacy device's ports) is refused, logged once,
// and decodes nothing until a later sync finds the place free: a guest moving two BARs past each
// other gets both in the end. Nothing here allocates unless a refusal is logged.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "ringlane/vmm/machine/bus_device.h"
#include "ringlane/vmm/machine/io_bus.h"
#include "ringlane/vmm/pci/pci_bus.h"
#include "ringlane/vmm/pci/pci_config_space.h"
#include "ringlane/vmm/pci/pci_device.h"

namespace ringlane::vmm {

class PciBarWindows {
 public:
  static constexpr int kCount = PciBus::kSlots * PciConfigSpace::kBarCount;

  PciBarWindows(IoBus& pio, IoBus& mmio) : pio_(pio), mmio_(mmio) {}
  PciBarWindows(const PciBarWindows&) = delete;
  PciBarWindows& operator=(const PciBarWindows&) = delete;

  // Makes the buses' BAR ranges match where `pci`'s BARs decode now.
  void sync(const PciBus& pci);

 private:
  struct Placement {
    uint64_t base = 0;
    uint64_t size = 0;
    bool io = false;
    bool operator==(const Placement&) const = default;
  };
  // One BAR of one slot: the bus device its range is registered with.
  class Window final : public BusDevice {
   public:
    bool read(uint64_t base, uint64_t offset, std::span<uint8_t> data) override;
    bool write(uint64_t base, uint64_t offset, std::span<const uint8_t> data) override;

    PciDevice* device = nullptr;
    int bar = 0;
    std::optional<Placement> wanted;      // where the BAR decodes now
    std::optional<Placement> registered;  // where its range is on a bus
    std::optional<Placement> refused;     // the last place refused, so it is logged once
  };

  IoBus& bus(const Placement& p) const { return p.io ? pio_ : mmio_; }

  IoBus& pio_;
  IoBus& mmio_;
  std::array<Window, kCount> windows_;
};

}  // namespace ringlane::vmm
