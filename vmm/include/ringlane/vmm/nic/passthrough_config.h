// PassthroughConfig: which bytes of a passed-through device's configuration space the VMM
// emulates and which are the device's own, and how one guest access is split between the two.
// Pure (no device, no kernel), so the split is unit-tested; PassthroughDevice does the I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace ringlane::vmm {

class PassthroughConfig {
 public:
  // `msix_capability`: the offset of the device's MSI-X capability, if it has one.
  explicit PassthroughConfig(std::optional<uint8_t> msix_capability)
      : msix_capability_(msix_capability) {}

  // Read from the emulation: the command register, BARs, ROM BAR, interrupt line and pin, and
  // MSI-X's message control.
  bool emulated(uint16_t at) const;
  // Written to the device: what is not emulated, and the command register (memory decoding and
  // bus mastering must reach the device too).
  bool forwarded(uint16_t at) const;
  bool is_msix_control(uint16_t at) const;

  // Whether a read of `size` bytes at `offset` needs the device at all.
  bool needs_device(uint16_t offset, uint8_t size) const;
  // The guest's value: `device_value`'s bytes where the device answers, `emulated_value`'s where
  // the emulation does (both little-endian, as read at `offset`).
  uint32_t merge(uint16_t offset, uint8_t size, uint32_t device_value,
                 uint32_t emulated_value) const;

  struct DeviceWrite {
    uint16_t offset;
    uint8_t size;
    uint32_t value;
    bool operator==(const DeviceWrite&) const = default;
  };
  // The writes that go to the device for a guest write: the access whole when every byte is
  // forwarded, else one write per forwarded byte.
  std::vector<DeviceWrite> device_writes(uint16_t offset, uint8_t size, uint32_t value) const;

 private:
  std::optional<uint8_t> msix_capability_;
};

}  // namespace ringlane::vmm
