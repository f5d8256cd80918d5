// VfSettings: what the PF's driver lets the host decide for one of its virtual functions, as
// rtnetlink carries it (`ip link set PF vf N ...`). Every field is optional: in a change, an
// absent field is left as it is; in settings read from the kernel, an absent field is one the
// driver does not report (spoof check and trust read as "unsupported" on some drivers).
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ringlane/base/result.h"

namespace ringlane::sriov {

struct MacAddress {
  std::array<uint8_t, 6> bytes{};

  // "02:00:00:00:00:01" (hex digits either case).
  static Result<MacAddress> parse(std::string_view text);
  // Lower case, colon-separated.
  std::string to_string() const;

  auto operator<=>(const MacAddress&) const = default;
};

// The VLAN tag's ethertype, as the kernel's ifla_vf_vlan_info carries it.
enum class VlanProtocol : uint16_t {
  dot1q = 0x8100,   // 802.1Q
  dot1ad = 0x88a8,  // 802.1ad (QinQ's outer tag)
};

// "802.1Q" / "802.1ad"; parse accepts either case.
std::string_view to_string(VlanProtocol protocol);
Result<VlanProtocol> parse_vlan_protocol(std::string_view text);

// Port VLAN the PF tags the VF's traffic with. id 0 with qos 0 means "no VLAN".
struct VfVlan {
  uint16_t id = 0;  // 0..4095
  uint8_t qos = 0;  // 802.1p priority, 0..7
  VlanProtocol protocol = VlanProtocol::dot1q;

  auto operator<=>(const VfVlan&) const = default;
};

// Transmit rate limits in Mbit/s; 0 means unlimited. The kernel sets both at once
// (ndo_set_vf_rate), so they travel together.
struct VfRate {
  uint32_t min_mbps = 0;
  uint32_t max_mbps = 0;

  auto operator<=>(const VfRate&) const = default;
};

// IFLA_VF_LINK_STATE_*: follow the PF's link, or force it up or down.
enum class VfLinkState : uint32_t {
  automatic = 0,
  enable = 1,
  disable = 2,
};

// "auto" / "enable" / "disable".
std::string_view to_string(VfLinkState state);
Result<VfLinkState> parse_vf_link_state(std::string_view text);

struct VfSettings {
  std::optional<MacAddress> mac;
  std::optional<VfVlan> vlan;
  std::optional<bool> spoof_check;
  std::optional<bool> trust;
  std::optional<VfRate> rate;
  std::optional<VfLinkState> link_state;

  bool empty() const { return !mac && !vlan && !spoof_check && !trust && !rate && !link_state; }
  bool operator==(const VfSettings&) const = default;
};

// One VF as the PF reports it.
struct VfInfo {
  uint32_t index = 0;
  VfSettings settings;

  bool operator==(const VfInfo&) const = default;
};

// "mac 02:00:00:00:00:01 vlan 10 qos 3 proto 802.1Q spoofchk on trust off rate 0-1000
// link-state auto": the fields that are present, for logs and messages.
std::string describe(const VfSettings& settings);

}  // namespace ringlane::sriov
