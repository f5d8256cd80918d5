#include "ringlane/vmm/nic/e1000_phy.h"

#include "ringlane/vmm/nic/e1000_registers.h"

namespace ringlane::vmm {

namespace {
// IEEE 802.3 clause 22 registers, then Marvell's.
constexpr uint32_t kControl = 0;
constexpr uint32_t kStatus = 1;
constexpr uint32_t kId1 = 2;
constexpr uint32_t kId2 = 3;
constexpr uint32_t kAutonegAdvertise = 4;
constexpr uint32_t kLinkPartnerAbility = 5;
constexpr uint32_t kAutonegExpansion = 6;
constexpr uint32_t kGigControl = 9;
constexpr uint32_t kGigStatus = 10;
constexpr uint32_t kExtendedStatus = 15;
constexpr uint32_t kM88SpecificControl = 16;
constexpr uint32_t kM88SpecificStatus = 17;
constexpr uint32_t kM88ExtSpecificControl = 20;
constexpr uint32_t kM88RxErrorCounter = 21;

constexpr uint16_t kControlReset = 1U << 15;
constexpr uint16_t kControlRestartAutoneg = 1U << 9;

bool present(uint32_t reg) {
  switch (reg) {
    case kControl:
    case kStatus:
    case kId1:
    case kId2:
    case kAutonegAdvertise:
    case kLinkPartnerAbility:
    case kAutonegExpansion:
    case kGigControl:
    case kGigStatus:
    case kExtendedStatus:
    case kM88SpecificControl:
    case kM88SpecificStatus:
    case kM88ExtSpecificControl:
    case kM88RxErrorCounter:
      return true;
    default:
      return false;
  }
}

bool writable(uint32_t reg) {
  return reg == kControl || reg == kAutonegAdvertise || reg == kGigControl ||
         reg == kM88SpecificControl || reg == kM88ExtSpecificControl;
}
}  // namespace

void E1000Phy::reset() {
  regs_ = {};
  regs_[kControl] = 0x1140;           // auto-negotiation on, full duplex, 1000 Mb/s
  regs_[kStatus] = 0x796d;            // 10/100 capable, extended status, link up, autoneg done
  regs_[kId1] = 0x0141;               // Marvell OUI
  regs_[kId2] = 0x0c20;               // 88E1011, the PHY drivers expect on an 82540EM
  regs_[kAutonegAdvertise] = 0x0de1;  // 10/100 half and full, pause
  regs_[kLinkPartnerAbility] = 0x41e1;
  regs_[kAutonegExpansion] = 0x0001;
  regs_[kGigControl] = 0x0e00;      // advertise 1000 full, master
  regs_[kGigStatus] = 0x3c00;       // partner 1000 half and full, receivers OK
  regs_[kExtendedStatus] = 0x3000;  // 1000BASE-T half and full
  regs_[kM88SpecificControl] = 0x0360;
  regs_[kM88SpecificStatus] = 0xac00;  // 1000 Mb/s, full duplex, resolved, link up
  regs_[kM88ExtSpecificControl] = 0x0d60;
}

std::optional<uint16_t> E1000Phy::read(uint32_t reg) const {
  if (!present(reg)) return std::nullopt;
  return regs_[reg];
}

bool E1000Phy::write(uint32_t reg, uint16_t value) {
  if (!present(reg) || !writable(reg)) return false;
  // Reset and restart-autonegotiation complete at once (and clear themselves): the link
  // never goes down.
  if (reg == kControl) value &= static_cast<uint16_t>(~(kControlReset | kControlRestartAutoneg));
  regs_[reg] = value;
  return true;
}

uint32_t E1000Phy::access(uint32_t mdic) {
  uint32_t reg = (mdic >> 16) & 0x1f;
  uint32_t phy = (mdic >> 21) & 0x1f;
  uint32_t result = mdic & ~(e1000::kMdicReady | e1000::kMdicError);
  bool ok = false;
  if (phy == kAddress && (mdic & e1000::kMdicOpRead) != 0) {
    std::optional<uint16_t> value = read(reg);
    if (value) {
      result = (result & ~e1000::kMdicDataMask) | *value;
      ok = true;
    }
  } else if (phy == kAddress && (mdic & e1000::kMdicOpWrite) != 0) {
    ok = write(reg, static_cast<uint16_t>(mdic & e1000::kMdicDataMask));
  }
  return result | e1000::kMdicReady | (ok ? 0 : e1000::kMdicError);
}

}  // namespace ringlane::vmm
