// E1000Phy: the 82540EM's integrated copper PHY (a Marvell 88E1011 as drivers identify it),
// reached through MDIC. The link is always up at 1000 Mb/s full duplex with auto-negotiation
// complete: the wire is a TAP device, which has no speed or link partner.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

namespace ringlane::vmm {

class E1000Phy {
 public:
  static constexpr uint32_t kAddress = 1;  // the only PHY on the 82540's MDIO bus

  E1000Phy() { reset(); }
  void reset();
  // A register's value; nullopt for a register this PHY does not have (MDIC reports an error).
  std::optional<uint16_t> read(uint32_t reg) const;
  // False for a read-only or absent register.
  bool write(uint32_t reg, uint16_t value);
  // The MDIC register protocol: a write starts a read or write of a PHY register; the result
  // (data, READY, ERROR) is what MDIC reads back.
  uint32_t access(uint32_t mdic);

 private:
  std::array<uint16_t, 32> regs_{};
};

}  // namespace ringlane::vmm
