// The PCI configuration space registers and bits the VMM's devices and passthrough read and
// write (PCI Local Bus 3.0, section 6; MSI-X in 6.8.2): one place, so the emulated devices and a
// passed-through one agree on them.
#pragma once

#include <cstdint>

namespace ringlane::vmm::pci {

inline constexpr uint16_t kRegCommand = 0x04;
inline constexpr uint16_t kRegStatus = 0x06;
inline constexpr uint16_t kRegBar0 = 0x10;
inline constexpr uint16_t kRegCapabilityPointer = 0x34;

inline constexpr uint16_t kStatusCapabilities = 0x10;  // a capability list is present

inline constexpr uint8_t kCapabilityIdMsix = 0x11;
// The MSI-X capability's message control word.
inline constexpr uint16_t kMsixControlEnable = 0x8000;
inline constexpr uint16_t kMsixControlFunctionMask = 0x4000;
inline constexpr uint16_t kMsixControlTableSize = 0x07ff;  // entries - 1

}  // namespace ringlane::vmm::pci
