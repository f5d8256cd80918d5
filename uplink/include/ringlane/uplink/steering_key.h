// Steering keys: which entry of the XDP program's address map (steer_abi.h, rl_steer) makes the
// frames for a station reach ringlane. The switch learns a station on one of its VLANs (0 for the
// ports without VLANs); on the wire of an uplink that VLAN is untagged (an uplink without VLANs,
// or an access uplink of that VLAN), tagged (a trunk carrying it), or absent (nothing to steer):
// net::PortVlans::wire_vlan says which.
#pragma once

#include <cstdint>

#include "ringlane/net/port_vlans.h"
#include "ringlane/uplink/steer_abi.h"

namespace ringlane::uplink {

// How the XDP program is told an uplink's VLANs (rl_config.vlan_mode).
uint8_t vlan_mode_of(const net::PortVlans& vlans);

// The map key for `mac` (48 bits, first octet most significant) under wire VLAN `wire_vlan`.
rl_steer_key steer_key(uint64_t mac, uint16_t wire_vlan);

// The trunk set as the program's bitmap (rl_config.trunk).
void fill_trunk_bitmap(const net::PortVlans& vlans, __u64 (&bitmap)[64]);

}  // namespace ringlane::uplink
