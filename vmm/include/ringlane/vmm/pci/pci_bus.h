// PciBus: bus 0 behind a host bridge, reached through configuration mechanism 1 (address at port
// 0xcf8, data at 0xcfc-0xcff). The VMM places every BAR in the 32-bit MMIO window at start, like
// firmware would; the bus routes MMIO exits to whichever BAR decodes the address now.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "ringlane/base/result.h"
#include "ringlane/vmm/pci/pci_device.h"

namespace ringlane::vmm {

struct PciBusCounters {
  uint64_t config_reads = 0;
  uint64_t config_writes = 0;
  uint64_t bad_config_accesses = 0;  // odd sizes, misaligned data port use
};

class PciBus {
 public:
  static constexpr uint16_t kConfigAddressPort = 0xcf8;
  static constexpr uint16_t kConfigDataPort = 0xcfc;
  // Below the IOAPIC (0xfec00000) and above any RAM this VMM gives a guest (3 GiB at most).
  static constexpr uint64_t kMmioWindowStart = 0xc0000000;
  static constexpr uint64_t kMmioWindowEnd = 0xfec00000;
  static constexpr int kSlots = 32;
  // I/O BARs go above the legacy ISA ports, where PC firmware puts them.
  static constexpr uint32_t kIoWindowStart = 0xc000;
  static constexpr uint32_t kIoWindowEnd = 0x10000;

  // The IOAPIC input a device in `slot` drives with INTA#: pins 16-23 are the PCI ones on a PC,
  // level-triggered and (as KVM's IOAPIC models them) active high. The MP table says the same.
  static constexpr uint32_t intx_gsi(int slot) { return 16 + static_cast<uint32_t>(slot - 1) % 8; }

  PciBus();

  // Plugs `device` into the next free slot, places its BARs and, if it has an interrupt pin,
  // wires it (interrupt line = intx_gsi(slot)). Returns the slot.
  Result<int> add(std::shared_ptr<PciDevice> device);
  std::shared_ptr<PciDevice> device(int slot) const { return slots_[slot]; }

  bool claims_port(uint16_t port) const {
    return port >= kConfigAddressPort && port < kConfigDataPort + 4;
  }
  // Port I/O on 0xcf8-0xcff (after claims_port).
  void port_read(uint16_t port, std::span<uint8_t> data);
  void port_write(uint16_t port, std::span<const uint8_t> data);
  // MMIO; false when no BAR decodes `gpa` (the caller counts it as unhandled).
  bool mmio_read(uint64_t gpa, std::span<uint8_t> data);
  bool mmio_write(uint64_t gpa, std::span<const uint8_t> data);
  // Port I/O to devices' I/O BARs; false when none decodes `port`.
  bool io_read(uint16_t port, std::span<uint8_t> data);
  bool io_write(uint16_t port, std::span<const uint8_t> data);

  const PciBusCounters& counters() const { return counters_; }

 private:
  struct Decode {
    PciDevice* device = nullptr;
    int bar = 0;
    uint64_t offset = 0;
  };
  // The device, BAR and offset that decode [address, address + len) in memory or I/O space.
  Decode decode(uint64_t address, uint64_t len, bool io) const;
  // The device the address latch selects, or null (another bus, function or empty slot).
  PciDevice* selected() const;

  std::vector<std::shared_ptr<PciDevice>> slots_;
  uint32_t address_ = 0;
  uint64_t next_mmio_ = kMmioWindowStart;
  uint64_t next_io_ = kIoWindowStart;
  PciBusCounters counters_;
};

}  // namespace ringlane::vmm
