#include "ringlane/vfio/pci_address.h"

#include <cerrno>
#include <cstdio>

namespace ringlane::vfio {
namespace {

// Parses exactly `digits` hex digits at `text`'s start, advancing past them.
bool take_hex(std::string_view& text, size_t digits, uint32_t& value) {
  if (text.size() < digits) return false;
  value = 0;
  for (size_t i = 0; i < digits; ++i) {
    char c = text[i];
    uint32_t d = 0;
    if (c >= '0' && c <= '9') {
      d = static_cast<uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      d = static_cast<uint32_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      d = static_cast<uint32_t>(c - 'A' + 10);
    } else {
      return false;
    }
    value = value * 16 + d;
  }
  text.remove_prefix(digits);
  return true;
}

bool take_char(std::string_view& text, char c) {
  if (text.empty() || text.front() != c) return false;
  text.remove_prefix(1);
  return true;
}

}  // namespace

Result<PciAddress> PciAddress::parse(std::string_view text) {
  const std::string original(text);
  auto bad = [&] {
    return Error(EINVAL,
                 "'" + original + "' is not a PCI address (DDDD:BB:DD.F or BB:DD.F, hexadecimal)");
  };
  uint32_t domain = 0;
  uint32_t bus = 0;
  uint32_t device = 0;
  uint32_t function = 0;
  // The long form has two colons; the short one only the bus's.
  bool long_form = text.find(':') != text.rfind(':');
  // sysfs prints the domain with at least 4 digits; VMD domains (0x10000 and up) take more.
  if (long_form) {
    size_t digits = text.find(':');
    if (digits < 4 || digits > 8 || !(take_hex(text, digits, domain) && take_char(text, ':'))) {
      return bad();
    }
  }
  if (!(take_hex(text, 2, bus) && take_char(text, ':') && take_hex(text, 2, device) &&
        take_char(text, '.') && take_hex(text, 1, function) && text.empty())) {
    return bad();
  }
  if (device > 31 || function > 7) return bad();
  return PciAddress{domain, static_cast<uint8_t>(bus), static_cast<uint8_t>(device),
                    static_cast<uint8_t>(function)};
}

std::string PciAddress::to_string() const {
  char text[24];
  std::snprintf(text, sizeof(text), "%04x:%02x:%02x.%x", domain, bus, device, function);
  return text;
}

}  // namespace ringlane::vfio
