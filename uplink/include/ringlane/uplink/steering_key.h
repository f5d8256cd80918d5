// Steering keys: which entry of the XDP program's address map (steer_abi.h, rl_steer) makes the
// frames for a station reach ringlane. The switch learns a station on one of its VLANs (0 for the
// ports without VLANs); on the wire of an uplink that VLAN is untagged (an uplink without VLANs,
// or an access uplink of that VLAN), tagged (a trunk carrying it), or absent (nothing to steer).
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <vector>

#include "ringlane/uplink/steer_abi.h"

namespace ringlane::uplink {

// The VLANs an uplink carries, as the XDP program is told (rl_config.vlan_mode).
struct UplinkVlans {
  enum class Mode : uint8_t { none = RL_VLAN_NONE, access = RL_VLAN_ACCESS, trunk = RL_VLAN_TRUNK };
  Mode mode = Mode::none;
  uint16_t access = 0;
  std::bitset<4096> trunk;

  static UplinkVlans from(uint16_t access_vlan, const std::vector<uint16_t>& trunk_vlans);
};

// The wire VLAN (0 = untagged) under which a station the switch learned on `learned_vlan` is
// steered to ringlane, or nothing when this uplink does not carry that VLAN.
std::optional<uint16_t> wire_vlan_for(const UplinkVlans& vlans, uint16_t learned_vlan);

// The map key for `mac` (48 bits, first octet most significant) under wire VLAN `wire_vlan`.
rl_steer_key steer_key(uint64_t mac, uint16_t wire_vlan);

// The trunk set as the program's bitmap (rl_config.trunk).
void fill_trunk_bitmap(const UplinkVlans& vlans, __u64 (&bitmap)[64]);

}  // namespace ringlane::uplink
