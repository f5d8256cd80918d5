// PciBus: bus 0 behind a host bridge, reached through configuration mechanism 1 (address at port
// 0xcf8, data at 0xcfc-0xcff). The VMM places every BAR in the windows it is given when a device
// is plugged, like firmware would; the guest may move them. The bus itself routes no BAR
// accesses: whoever owns it keeps the machine's buses in step with where BARs decode, told by the
// decoding listener whenever that may have changed.
#pragma once

#include <cstdint>
#include <functional>
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

// Where BARs of one kind are placed: [start, end).
struct PciWindow {
  uint64_t start;
  uint64_t end;
};

class PciBus {
 public:
  static constexpr uint16_t kConfigAddressPort = 0xcf8;
  static constexpr uint16_t kConfigDataPort = 0xcfc;
  static constexpr int kSlots = 32;

  // The IOAPIC input a device in `slot` drives with INTA#: pins 16-23 are the PCI ones on a PC,
  // level-triggered and (as KVM's IOAPIC models them) active high. The MP table says the same.
  static constexpr uint32_t intx_gsi(int slot) { return 16 + static_cast<uint32_t>(slot - 1) % 8; }

  // Memory BARs are placed in `mmio`, I/O BARs in `io`.
  PciBus(PciWindow mmio, PciWindow io);

  // Called after anything that may have changed where BARs decode: a device plugged, a write to a
  // BAR or a command register (on the vCPU thread that made it, inside port_write).
  void set_decoding_listener(std::function<void()> listener) {
    decoding_listener_ = std::move(listener);
  }

  // Plugs `device` into the next free slot, places its BARs and, if it has an interrupt pin,
  // wires it (interrupt line = intx_gsi(slot)). Returns the slot.
  Result<int> add(std::shared_ptr<PciDevice> device);
  // The device in `slot`, or null.
  const std::shared_ptr<PciDevice>& device(int slot) const { return slots_[slot]; }

  // Port I/O on 0xcf8-0xcff, of any width (ChipsetPorts takes out the reset control byte).
  void port_read(uint16_t port, std::span<uint8_t> data);
  void port_write(uint16_t port, std::span<const uint8_t> data);

  const PciBusCounters& counters() const { return counters_; }

 private:
  // The device the address latch selects, or null (another bus, function or empty slot).
  PciDevice* selected() const;
  void tell_decoding_listener() {
    if (decoding_listener_) decoding_listener_();
  }

  std::vector<std::shared_ptr<PciDevice>> slots_;
  PciWindow mmio_;
  PciWindow io_;
  std::function<void()> decoding_listener_;
  uint32_t address_ = 0;
  uint64_t next_mmio_;
  uint64_t next_io_;
  PciBusCounters counters_;
};

}  // namespace ringlane::vmm
