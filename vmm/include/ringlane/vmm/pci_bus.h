// PciBus: bus 0 behind a host bridge, reached through configuration mechanism 1 (address at port
// 0xcf8, data at 0xcfc-0xcff). The VMM places every BAR in the 32-bit MMIO window at start, like
// firmware would; the bus routes MMIO exits to whichever BAR decodes the address now.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "ringlane/base/result.h"
#include "ringlane/vmm/pci_device.h"

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

  PciBus();

  // Plugs `device` into the next free slot and places its BARs. Returns the slot.
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

  const PciBusCounters& counters() const { return counters_; }

 private:
  struct Decode {
    PciDevice* device = nullptr;
    int bar = 0;
    uint64_t offset = 0;
  };
  // The device, BAR and offset that decode [gpa, gpa + len), if one does.
  Decode decode(uint64_t gpa, uint64_t len) const;
  // The device the address latch selects, or null (another bus, function or empty slot).
  PciDevice* selected() const;

  std::vector<std::shared_ptr<PciDevice>> slots_;
  uint32_t address_ = 0;
  uint64_t next_mmio_ = kMmioWindowStart;
  PciBusCounters counters_;
};

}  // namespace ringlane::vmm
