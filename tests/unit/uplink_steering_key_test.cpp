// Steering keys: the wire VLAN under which an uplink steers a station the switch learned, for an
// uplink without VLANs, an access uplink and a trunk; the map key's byte order; the trunk bitmap.
#include <gtest/gtest.h>

#include <cstring>

#include "ringlane/uplink/steering_key.h"

namespace ringlane::uplink {
namespace {

TEST(SteeringKey, UplinkWithoutVlansSteersOnlyTheUntaggedDomain) {
  net::PortVlans v = net::PortVlans::from(0, {});
  EXPECT_EQ(v.mode, net::PortVlans::Mode::none);
  EXPECT_EQ(v.wire_vlan(0), std::optional<uint16_t>(0));
  EXPECT_EQ(v.wire_vlan(10), std::nullopt);
}

TEST(SteeringKey, AccessUplinkSteersItsVlanUntagged) {
  net::PortVlans v = net::PortVlans::from(10, {});
  EXPECT_EQ(v.mode, net::PortVlans::Mode::access);
  EXPECT_EQ(v.wire_vlan(10), std::optional<uint16_t>(0));
  EXPECT_EQ(v.wire_vlan(0), std::nullopt);
  EXPECT_EQ(v.wire_vlan(11), std::nullopt);
}

TEST(SteeringKey, TrunkSteersItsVlansTagged) {
  net::PortVlans v = net::PortVlans::from(0, {10, 20, 4094});
  EXPECT_EQ(v.mode, net::PortVlans::Mode::trunk);
  EXPECT_EQ(v.wire_vlan(10), std::optional<uint16_t>(10));
  EXPECT_EQ(v.wire_vlan(4094), std::optional<uint16_t>(4094));
  EXPECT_EQ(v.wire_vlan(0), std::nullopt);  // the untagged domain is not on a trunk
  EXPECT_EQ(v.wire_vlan(30), std::nullopt);
  EXPECT_EQ(v.wire_vlan(4095), std::nullopt);
  EXPECT_EQ(v.wire_vlan(60000), std::nullopt);
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
  fill_trunk_bitmap(net::PortVlans::from(0, {1, 63, 64, 4094}), bitmap);
  EXPECT_EQ(bitmap[0], (__u64{1} << 1) | (__u64{1} << 63));
  EXPECT_EQ(bitmap[1], __u64{1});
  EXPECT_EQ(bitmap[63], __u64{1} << (4094 % 64));
  int bits = 0;
  for (__u64 w : bitmap) bits += __builtin_popcountll(w);
  EXPECT_EQ(bits, 4);
  fill_trunk_bitmap(net::PortVlans::from(7, {}), bitmap);  // access: no trunk bits at all
  for (__u64 w : bitmap) EXPECT_EQ(w, 0u);
}

}  // namespace
}  // namespace ringlane::uplink
