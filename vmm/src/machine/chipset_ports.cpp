#include "ringlane/vmm/machine/chipset_ports.h"

namespace ringlane::vmm {

namespace {
constexpr uint16_t kResetControlPort = 0xcf9;
constexpr uint8_t kSystemReset = 0x04;
}  // namespace

bool ChipsetPorts::read(uint64_t base, uint64_t offset, std::span<uint8_t> data) {
  auto port = static_cast<uint16_t>(base + offset);
  if (port == kResetControlPort && data.size() == 1) {
    data[0] = 0;
  } else {
    pci_.port_read(port, data);
  }
  return true;
}

bool ChipsetPorts::write(uint64_t base, uint64_t offset, std::span<const uint8_t> data) {
  auto port = static_cast<uint16_t>(base + offset);
  if (port == kResetControlPort && data.size() == 1) {
    if ((data[0] & kSystemReset) != 0) reset_();
  } else {
    pci_.port_write(port, data);
  }
  return true;
}

}  // namespace ringlane::vmm
