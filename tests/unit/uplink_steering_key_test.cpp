// Steering keys: the wire VLAN under which an uplink steers a station the switch learned, for an
// uplink without VLANs, an access uplink and a trunk; the map key's byte order; the trunk bitmap.
#include <gtest/gtest.h>

#include <cstring>

#include "ringlane/uplink/steering_key.h"

namespace ringlane::uplink {
namespace {

TEST(SteeringKey, UplinkWithoutVlansSteersOnlyTheUntaggedDomain) {
  UplinkVlans v = UplinkVlans::from(0, {});
  EXPECT_EQ(v.mode, UplinkVlans::Mode::none);
  EXPECT_EQ(wire_vlan_for(v, 0), std::optional<uint16_t>(0));
  EXPECT_EQ(wire_vlan_for(v, 10), std::nullopt);
}

TEST(SteeringKey, AccessUplinkSteersItsVlanUntagged) {
  UplinkVlans v = UplinkVlans::from(10, {});
  EXPECT_EQ(v.mode, UplinkVlans::Mode::access);
  EXPECT_EQ(wire_vlan_for(v, 10), std::optional<uint16_t>(0));
  EXPECT_EQ(wire_vlan_for(v, 0), std::nullopt);
  EXPECT_EQ(wire_vlan_for(v, 11), std::nullopt);
}

TEST(SteeringKey, TrunkSteersItsVlansTagged) {
  UplinkVlans v = UplinkVlans::from(0, {10, 20, 4094});
  EXPECT_EQ(v.mode, UplinkVlans::Mode::trunk);
  EXPECT_EQ(wire_vlan_for(v, 10), std::optional<uint16_t>(10));
  EXPECT_EQ(wire_vlan_for(v, 4094), std::optional<uint16_t>(4094));
  EXPECT_EQ(wire_vlan_for(v, 0), std::nullopt);  // the untagged domain is not on a trunk
  EXPECT_EQ(wire_vlan_for(v, 30), std::nullopt);
  EXPECT_EQ(wire_vlan_for(v, 4095), std::nullopt);
  EXPECT_EQ(wire_vlan_for(v, 60000), std::nullopt);
}

TEST(SteeringKey, KeyHoldsTheAddressInWireOrder) {
  rl_steer_key k = steer_key(0x0200a1b2c3d4, 20);
  EXPECT_EQ(k.vlan, 20);
  const uint8_t want[6] = {0x02, 0x00, 0xa1, 0xb2, 0xc3, 0xd4};
  EXPECT_EQ(std::memcmp(k.mac, want, 6), 0);
  static_assert(sizeof(rl_steer_key) == 8, "the BPF map's key has no padding");
}

TEST(SteeringKey, TrunkBitmapHasExactlyTheTrunksVlans) {
  __u64 bitmap[64];
  fill_trunk_bitmap(UplinkVlans::from(0, {1, 63, 64, 4094}), bitmap);
  EXPECT_EQ(bitmap[0], (__u64{1} << 1) | (__u64{1} << 63));
  EXPECT_EQ(bitmap[1], __u64{1});
  EXPECT_EQ(bitmap[63], __u64{1} << (4094 % 64));
  int bits = 0;
  for (__u64 w : bitmap) bits += __builtin_popcountll(w);
  EXPECT_EQ(bits, 4);
  fill_trunk_bitmap(UplinkVlans::from(7, {}), bitmap);  // access: no trunk bits at all
  for (__u64 w : bitmap) EXPECT_EQ(w, 0u);
}

}  // namespace
}  // namespace ringlane::uplink
