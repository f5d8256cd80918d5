#include "ringlane/uplink/steering_key.h"

namespace ringlane::uplink {

uint8_t vlan_mode_of(const net::PortVlans& vlans) {
  switch (vlans.mode) {
    case net::PortVlans::Mode::none:
      return RL_VLAN_NONE;
    case net::PortVlans::Mode::access:
      return RL_VLAN_ACCESS;
    case net::PortVlans::Mode::trunk:
      return RL_VLAN_TRUNK;
  }
  return RL_VLAN_NONE;
}

rl_steer_key steer_key(uint64_t mac, uint16_t wire_vlan) {
  rl_steer_key key{};
  key.vlan = wire_vlan;
  for (int i = 0; i < 6; ++i) key.mac[i] = static_cast<uint8_t>(mac >> (40 - 8 * i));
  return key;
}

void fill_trunk_bitmap(const net::PortVlans& vlans, __u64 (&bitmap)[64]) {
  for (__u64& word : bitmap) word = 0;
  if (vlans.mode != net::PortVlans::Mode::trunk) return;
  for (unsigned id = 1; id < 4096; ++id) {
    if (vlans.trunk.test(id)) bitmap[id / 64] |= __u64{1} << (id % 64);
  }
}

}  // namespace ringlane::uplink
