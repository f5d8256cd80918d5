#include "ringlane/vmm/nic/passthrough_config.h"

namespace ringlane::vmm {
namespace {
bool is_command(uint16_t at) {
  return at >= 0x04 && at < 0x06;
}
}  // namespace

bool PassthroughConfig::is_msix_control(uint16_t at) const {
  return msix_capability_ && (at == *msix_capability_ + 2 || at == *msix_capability_ + 3);
}

bool PassthroughConfig::emulated(uint16_t at) const {
  if (is_command(at)) return true;            // decoding is the bus's business too
  if (at >= 0x10 && at < 0x28) return true;   // BARs: where this VMM put them
  if (at >= 0x30 && at < 0x34) return true;   // expansion ROM: none offered
  if (at == 0x3c || at == 0x3d) return true;  // interrupt line and pin: no INTx
  return is_msix_control(at);
}

bool PassthroughConfig::forwarded(uint16_t at) const {
  return !emulated(at) || is_command(at);
}

bool PassthroughConfig::needs_device(uint16_t offset, uint8_t size) const {
  for (uint16_t i = 0; i < size; ++i) {
    if (!emulated(offset + i)) return true;
  }
  return false;
}

uint32_t PassthroughConfig::merge(uint16_t offset, uint8_t size, uint32_t device_value,
                                  uint32_t emulated_value) const {
  uint32_t value = 0;
  for (uint16_t i = 0; i < size; ++i) {
    uint32_t from = emulated(offset + i) ? emulated_value : device_value;
    value |= from & (0xffU << (8 * i));
  }
  return value;
}

std::vector<PassthroughConfig::DeviceWrite> PassthroughConfig::device_writes(uint16_t offset,
                                                                             uint8_t size,
                                                                             uint32_t value) const {
  bool whole = true;
  for (uint16_t i = 0; i < size; ++i) whole = whole && forwarded(offset + i);
  if (whole) return {{offset, size, value}};
  std::vector<DeviceWrite> writes;
  for (uint16_t i = 0; i < size; ++i) {
    if (forwarded(offset + i)) {
      writes.push_back({static_cast<uint16_t>(offset + i), 1, (value >> (8 * i)) & 0xff});
    }
  }
  return writes;
}

}  // namespace ringlane::vmm
