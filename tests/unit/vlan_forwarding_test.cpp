// The L2 switch with VLANs: access ports carry one VLAN untagged, trunks carry theirs tagged,
// ports without VLANs stay among themselves; tags are pushed and popped on the way, learning is
// per VLAN, and what a port may not carry never reaches it.
#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "recording_port.h"
#include "ringlane/dataplane/address_feed.h"
#include "ringlane/dataplane/forwarding.h"

namespace ringlane::dataplane {
namespace {

uint64_t station(uint16_t n) {
  return 0x020000000000 | n;
}
constexpr uint64_t kBroadcast = 0xffffffffffff;
using Frames = std::vector<std::vector<uint8_t>>;

enum Ports : uint16_t { kAccess10a, kAccess10b, kAccess20, kTrunk, kPlain, kPortCount };

std::vector<uint8_t> frame(uint64_t dst, uint64_t src, int vid = -1, size_t payload = 46) {
  std::vector<uint8_t> f;
  for (int b = 0; b < 6; ++b) f.push_back(static_cast<uint8_t>(dst >> (40 - 8 * b)));
  for (int b = 0; b < 6; ++b) f.push_back(static_cast<uint8_t>(src >> (40 - 8 * b)));
  if (vid >= 0) {
    f.insert(f.end(), {0x81, 0x00, static_cast<uint8_t>(vid >> 8), static_cast<uint8_t>(vid)});
  }
  f.insert(f.end(), {0x08, 0x00});
  for (size_t i = 0; i < payload; ++i) f.push_back(static_cast<uint8_t>(i));
  return f;
}

class VlanForwardingTest : public ::testing::Test {
 protected:
  VlanForwardingTest() : macs_(4096, uint64_t{1} << 40) {
    view_.mode = ForwardingMode::l2_switch;
    view_.macs = &macs_;
    view_.vlans = {PortVlans::from(10, {}), PortVlans::from(10, {}), PortVlans::from(20, {}),
                   PortVlans::from(0, {10, 20}), PortVlans{}};
    for (uint16_t p = 0; p < kPortCount; ++p) {
      ports_.push_back(std::make_unique<RecordingPort>("p" + std::to_string(p)));
      view_.ports.push_back(ports_.back().get());
      view_.peer.push_back(-1);
    }
    view_.polls.resize(1);
  }

  // Queues `bytes`, cut into spans at `cuts` (offsets), as the next packet of the burst.
  void add(std::vector<uint8_t> bytes, std::vector<size_t> cuts = {}, virtio::NetHeader hdr = {}) {
    frames_.push_back(std::make_unique<std::vector<uint8_t>>(std::move(bytes)));
    auto& f = *frames_.back();
    net::PacketView& p = batch_.packets[batch_.count];
    p = {batch_.spans_used, 0, batch_.count, static_cast<uint32_t>(f.size()), hdr};
    size_t at = 0;
    cuts.push_back(f.size());
    for (size_t cut : cuts) {
      batch_.spans[batch_.spans_used++] = {f.data() + at, cut - at};
      ++p.span_count;
      at = cut;
    }
    ++batch_.count;
  }

  uint32_t forward(uint16_t in) {
    uint32_t sent = forward_batch(view_, 0, in, batch_, scratch_, stats_);
    batch_.clear();
    return sent;
  }
  void forget_all() {
    for (auto& p : ports_) p->forget();
  }
  const RecordingPort& port(uint16_t p) const { return *ports_[p]; }

  MacTable macs_;
  std::vector<std::unique_ptr<RecordingPort>> ports_;
  SwitchView view_;
  net::PacketBatch batch_;
  std::vector<std::unique_ptr<std::vector<uint8_t>>> frames_;
  ForwardScratch scratch_;
  WorkerStats stats_;
};

TEST_F(VlanForwardingTest, BroadcastStaysInItsVlanAndIsTaggedOnTheTrunk) {
  add(frame(kBroadcast, station(1)));
  EXPECT_EQ(forward(kAccess10a), 2u);
  EXPECT_EQ(port(kAccess10b).frames(), (Frames{frame(kBroadcast, station(1))}));
  EXPECT_EQ(port(kTrunk).frames(), (Frames{frame(kBroadcast, station(1), 10)}));
  EXPECT_TRUE(port(kAccess20).frames().empty());
  EXPECT_TRUE(port(kPlain).frames().empty());
}

TEST_F(VlanForwardingTest, TrunkFramesLoseTheirTagOnAccessPorts) {
  add(frame(kBroadcast, station(9), 20));
  EXPECT_EQ(forward(kTrunk), 1u);
  EXPECT_EQ(port(kAccess20).frames(), (Frames{frame(kBroadcast, station(9))}));
  EXPECT_TRUE(port(kAccess10a).frames().empty());
  EXPECT_TRUE(port(kAccess10b).frames().empty());
}

TEST_F(VlanForwardingTest, LearningIsPerVlan) {
  // The same station speaks on VLAN 10 from port 0 and on VLAN 20 from the trunk.
  add(frame(kBroadcast, station(5)));
  forward(kAccess10a);
  add(frame(kBroadcast, station(5), 20));
  forward(kTrunk);
  forget_all();
  add(frame(station(5), station(6)));  // from VLAN 10: to port 0
  EXPECT_EQ(forward(kAccess10b), 1u);
  EXPECT_EQ(port(kAccess10a).received().size(), 1u);
  add(frame(station(5), station(7)));  // from VLAN 20: to the trunk, tagged
  EXPECT_EQ(forward(kAccess20), 1u);
  EXPECT_EQ(port(kTrunk).frames(), (Frames{frame(station(5), station(7), 20)}));
  EXPECT_EQ(port(kAccess10a).received().size(), 1u);
}

TEST_F(VlanForwardingTest, AStationOfAnotherVlanIsNotReachable) {
  add(frame(kBroadcast, station(20)));
  forward(kAccess20);  // learned in VLAN 20
  forget_all();
  add(frame(station(20), station(10)));
  forward(kAccess10a);  // unknown in VLAN 10: flooded there, never to port 2
  EXPECT_TRUE(port(kAccess20).frames().empty());
  EXPECT_EQ(port(kAccess10b).frames().size(), 1u);
  EXPECT_EQ(port(kTrunk).frames(), (Frames{frame(station(20), station(10), 10)}));
}

TEST_F(VlanForwardingTest, FramesAPortMayNotSendAreRefused) {
  add(frame(kBroadcast, station(1), 10));  // tagged on an access port
  EXPECT_EQ(forward(kAccess10a), 0u);
  add(frame(kBroadcast, station(1)));  // untagged on a trunk
  EXPECT_EQ(forward(kTrunk), 0u);
  add(frame(kBroadcast, station(1), 30));  // a VLAN the trunk does not carry
  EXPECT_EQ(forward(kTrunk), 0u);
  add({0x01, 0x02});  // a runt
  EXPECT_EQ(forward(kTrunk), 0u);
  EXPECT_EQ(stats_.drop_vlan.get(), 4u);
  for (uint16_t p = 0; p < kPortCount; ++p) EXPECT_TRUE(port(p).frames().empty()) << p;
}

TEST_F(VlanForwardingTest, PortsWithoutVlansKeepToThemselvesAndPassTagsThrough) {
  ports_.push_back(std::make_unique<RecordingPort>("plain2"));
  view_.ports.push_back(ports_.back().get());
  view_.peer.push_back(-1);
  view_.vlans.push_back(PortVlans{});
  add(frame(kBroadcast, station(1), 10));  // tagged, on a port without VLANs: as it is
  EXPECT_EQ(forward(kPlain), 1u);
  EXPECT_EQ(port(kPortCount).frames(), (Frames{frame(kBroadcast, station(1), 10)}));
  EXPECT_TRUE(port(kTrunk).frames().empty());
  EXPECT_TRUE(port(kAccess10a).frames().empty());
}

TEST_F(VlanForwardingTest, TagsArePushedAndPoppedWhateverTheSpans) {
  // Spans cut inside the addresses and inside the tag.
  add(frame(kBroadcast, station(1)), {5, 13, 14});
  forward(kAccess10a);
  EXPECT_EQ(port(kTrunk).frames(), (Frames{frame(kBroadcast, station(1), 10)}));
  add(frame(kBroadcast, station(2), 10), {3, 12, 15, 17});
  forward(kTrunk);
  EXPECT_EQ(port(kAccess10a).frames().back(), frame(kBroadcast, station(2)));
}

TEST_F(VlanForwardingTest, OffloadOffsetsFollowTheTag) {
  virtio::NetHeader hdr{};
  hdr.flags = virtio::kNetHdrFNeedsCsum;
  hdr.gso_type = virtio::kNetHdrGsoTcpv4;
  hdr.hdr_len = 54;
  hdr.csum_start = 34;
  hdr.csum_offset = 16;
  add(frame(kBroadcast, station(1)), {}, hdr);
  forward(kAccess10a);
  ASSERT_EQ(port(kTrunk).headers().size(), 1u);
  EXPECT_EQ(port(kTrunk).headers()[0].csum_start, 38);
  EXPECT_EQ(port(kTrunk).headers()[0].hdr_len, 58);
  EXPECT_EQ(port(kAccess10b).headers()[0].csum_start, 34);
  hdr.csum_start = 38;
  hdr.hdr_len = 58;
  add(frame(kBroadcast, station(2), 10), {}, hdr);
  forward(kTrunk);
  EXPECT_EQ(port(kAccess10a).headers().back().csum_start, 34);
  EXPECT_EQ(port(kAccess10a).headers().back().hdr_len, 54);
}

// A port that keeps what the switch tells it of addresses.
class ListeningPort final : public Port {
 public:
  const std::string& name() const override { return name_; }
  uint16_t queue_pairs() const override { return 1; }
  uint16_t receive(uint16_t, net::PacketBatch&) override { return 0; }
  void release(uint16_t, const net::PacketBatch&) override {}
  uint16_t transmit(uint16_t, const net::PacketBatch&, std::span<const uint16_t>) override {
    return 0;
  }
  int transmit_queue_for(unsigned) const override { return 0; }
  std::vector<PortQueueStats> queue_stats() const override { return {}; }
  bool connected() const override { return true; }
  const char* kind() const override { return "listening"; }
  bool wants_addresses() const override { return true; }
  void address_learned(uint64_t mac, uint16_t vlan, uint16_t port) override {
    events.push_back("+" + std::to_string(mac & 0xffff) + "/" + std::to_string(vlan) + "@" +
                     std::to_string(port));
  }
  void address_forgotten(uint64_t mac, uint16_t vlan) override {
    events.push_back("-" + std::to_string(mac & 0xffff) + "/" + std::to_string(vlan));
  }
  std::vector<std::string> events;

 private:
  std::string name_ = "uplink";
};

TEST(AddressFeed, TellsLearnedMovedAndAgedAddressesOnce) {
  constexpr uint64_t kAging = 1000;
  MacTable table(64, kAging);
  ListeningPort listener;
  RecordingPort deaf("vm");
  std::vector<Port*> ports = {&listener, &deaf};
  AddressFeed feed;
  table.learn(station(1), 1, 0, 10);
  feed.update(table, 1, ports);
  EXPECT_EQ(listener.events, (std::vector<std::string>{"+1/10@1"}));
  feed.update(table, 2, ports);  // nothing changed: nothing said
  EXPECT_EQ(listener.events.size(), 1u);
  table.learn(station(1), 3, 3, 10);  // moved
  feed.update(table, 4, ports);
  EXPECT_EQ(listener.events.back(), "+1/10@3");
  feed.update(table, 3 + kAging + 1, ports);  // aged out
  EXPECT_EQ(listener.events.back(), "-1/10");
  EXPECT_EQ(feed.size(), 0u);
}

}  // namespace
}  // namespace ringlane::dataplane
