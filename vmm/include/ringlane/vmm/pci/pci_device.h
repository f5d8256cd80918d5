// PciDevice: what the PCI bus needs from a device model: its configuration space and its BARs'
// register accesses. Accesses arrive on vCPU threads, one at a time per vCPU.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "ringlane/vmm/pci/pci_config_space.h"

namespace ringlane::vmm {

class PciDevice {
 public:
  explicit PciDevice(const PciIdentity& id) : config_(id) {}
  virtual ~PciDevice() = default;
  PciDevice(const PciDevice&) = delete;
  PciDevice& operator=(const PciDevice&) = delete;

  virtual std::string name() const = 0;
  PciConfigSpace& config() { return config_; }
  const PciConfigSpace& config() const { return config_; }

  // Configuration space as the guest sees it. Models answer from config(); a passed-through
  // device overrides these to forward what it does not emulate to the real device. `write`
  // returns whether address decoding may have changed (as PciConfigSpace::write).
  virtual uint32_t config_read(uint16_t offset, uint8_t size) { return config_.read(offset, size); }
  virtual bool config_write(uint16_t offset, uint8_t size, uint32_t value) {
    return config_.write(offset, size, value);
  }

  // Register reads and writes inside BAR `bar`; `offset` and the access lie inside the BAR.
  virtual void bar_read(int bar, uint64_t offset, std::span<uint8_t> data) = 0;
  virtual void bar_write(int bar, uint64_t offset, std::span<const uint8_t> data) = 0;
  // The guest wrote configuration space (after the write mask applied); `decoding_changed` when a
  // BAR moved or decoding was switched, so ioeventfds and the like must follow.
  virtual void config_written(uint16_t offset, uint8_t size, bool decoding_changed) {
    (void)offset;
    (void)size;
    (void)decoding_changed;
  }

 private:
  PciConfigSpace config_;
};

}  // namespace ringlane::vmm
