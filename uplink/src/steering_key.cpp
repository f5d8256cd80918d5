#include "ringlane/uplink/steering_key.h"

namespace ringlane::uplink {

UplinkVlans UplinkVlans::from(uint16_t access_vlan, const std::vector<uint16_t>& trunk_vlans) {
  UplinkVlans v;
  if (access_vlan != 0) {
    v.mode = Mode::access;
    v.access = access_vlan;
  } else if (!trunk_vlans.empty()) {
    v.mode = Mode::trunk;
    for (uint16_t id : trunk_vlans) {
      if (id > 0 && id < 4096) v.trunk.set(id);
    }
  }
  return v;
}

std::optional<uint16_t> wire_vlan_for(const UplinkVlans& vlans, uint16_t learned_vlan) {
  switch (vlans.mode) {
    case UplinkVlans::Mode::none:
      if (learned_vlan == 0) return uint16_t{0};
      break;
    case UplinkVlans::Mode::access:
      if (learned_vlan == vlans.access) return uint16_t{0};
      break;
    case UplinkVlans::Mode::trunk:
      if (learned_vlan != 0 && learned_vlan < 4096 && vlans.trunk.test(learned_vlan)) {
        return learned_vlan;
      }
      break;
  }
  return std::nullopt;
}

rl_steer_key steer_key(uint64_t mac, uint16_t wire_vlan) {
  rl_steer_key key{};
  key.vlan = wire_vlan;
  for (int i = 0; i < 6; ++i) key.mac[i] = static_cast<uint8_t>(mac >> (40 - 8 * i));
  return key;
}

void fill_trunk_bitmap(const UplinkVlans& vlans, __u64 (&bitmap)[64]) {
  for (__u64& word : bitmap) word = 0;
  if (vlans.mode != UplinkVlans::Mode::trunk) return;
  for (unsigned id = 1; id < 4096; ++id) {
    if (vlans.trunk.test(id)) bitmap[id / 64] |= __u64{1} << (id % 64);
  }
}

}  // namespace ringlane::uplink
