// PciAddress: a PCI function's domain:bus:device.function, as sysfs names it ("0000:00:02.0").
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "ringlane/base/result.h"

namespace ringlane::vfio {

struct PciAddress {
  uint32_t domain = 0;
  uint8_t bus = 0;
  uint8_t device = 0;    // 0..31
  uint8_t function = 0;  // 0..7

  // "0000:00:02.0" (4 to 8 domain digits), or "00:02.0" for domain 0 (lspci's short form); hex
  // digits either case.
  static Result<PciAddress> parse(std::string_view text);
  // Always the long, lower-case form sysfs uses.
  std::string to_string() const;

  auto operator<=>(const PciAddress&) const = default;
};

}  // namespace ringlane::vfio
