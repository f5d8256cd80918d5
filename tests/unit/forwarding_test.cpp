// forward_batch in l2 mode: learned addresses, flooding, and a switch with more ports than any
// fixed per-burst table would hold (frames to a port past the 64th were once dropped silently).
#include "ringlane/dataplane/forwarding.h"

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "recording_port.h"

namespace ringlane::dataplane {
namespace {

uint64_t station(uint16_t port) {
  return 0x020000000000 | port;  // locally administered unicast
}
constexpr uint64_t kBroadcast = 0xffffffffffff;

class L2ForwardingTest : public ::testing::Test {
 protected:
  explicit L2ForwardingTest(size_t ports = 70) : macs_(4096, uint64_t{1} << 62) {
    view_.mode = ForwardingMode::l2_switch;
    view_.macs = &macs_;
    for (size_t p = 0; p < ports; ++p) {
      ports_.push_back(std::make_unique<RecordingPort>("vm" + std::to_string(p)));
      view_.ports.push_back(ports_.back().get());
      view_.peer.push_back(-1);
    }
    view_.polls.resize(1);
  }

  // Queues a 60-byte frame from `src` to `dst`; its head is its index in the batch.
  void add_frame(uint64_t dst, uint64_t src) {
    auto& bytes = frames_[batch_.count];
    bytes.fill(0);
    for (int b = 0; b < 6; ++b) {
      bytes[b] = static_cast<uint8_t>(dst >> (40 - 8 * b));
      bytes[6 + b] = static_cast<uint8_t>(src >> (40 - 8 * b));
    }
    batch_.spans[batch_.spans_used] = {bytes.data(), bytes.size()};
    batch_.packets[batch_.count] = {
        batch_.spans_used, 1, batch_.count, static_cast<uint32_t>(bytes.size()), {}};
    ++batch_.spans_used;
    ++batch_.count;
  }

  uint32_t forward(uint16_t in) {
    uint32_t sent = forward_batch(view_, 0, in, batch_, scratch_, stats_);
    batch_.clear();
    return sent;
  }

  const RecordingPort& port(size_t p) const { return *ports_[p]; }

  MacTable macs_;
  std::vector<std::unique_ptr<RecordingPort>> ports_;
  SwitchView view_;
  net::PacketBatch batch_;
  std::array<std::array<uint8_t, 60>, net::kBurstSize> frames_{};
  ForwardScratch scratch_;
  WorkerStats stats_;
};

TEST_F(L2ForwardingTest, FrameToAStationLearnedOnPort69ArrivesThere) {
  add_frame(kBroadcast, station(69));  // port 69 speaks first: learned
  EXPECT_EQ(forward(69), 69u);
  for (auto& p : ports_) p->forget();
  add_frame(station(69), station(0));
  EXPECT_EQ(forward(0), 1u);
  ASSERT_EQ(port(69).received().size(), 1u);
  EXPECT_EQ(port(69).received()[0], 0);
  EXPECT_EQ(stats_.drop_filtered.get(), 0u);
  // And back: port 0 was learned from that frame.
  add_frame(station(0), station(69));
  EXPECT_EQ(forward(69), 1u);
  EXPECT_EQ(port(0).received().size(), 1u);
}

TEST_F(L2ForwardingTest, FloodReachesEveryOtherPort) {
  add_frame(kBroadcast, station(3));
  add_frame(station(42), station(3));  // unknown unicast floods too
  EXPECT_EQ(forward(3), 2u * 69u);
  for (size_t p = 0; p < ports_.size(); ++p) {
    if (p == 3) {
      EXPECT_TRUE(port(p).received().empty());
    } else {
      EXPECT_EQ(port(p).received(), (std::vector<uint16_t>{0, 1})) << "port " << p;
    }
  }
  EXPECT_EQ(stats_.flooded.get(), 2u);
}

TEST_F(L2ForwardingTest, OneBurstToManyPortsKeepsEachPortsOrder) {
  for (uint16_t p = 60; p < 70; ++p) {
    add_frame(kBroadcast, station(p));
    forward(p);
  }
  for (auto& p : ports_) p->forget();
  std::vector<uint16_t> to_port(net::kBurstSize);
  for (uint16_t i = 0; i < net::kBurstSize; ++i) {
    to_port[i] = static_cast<uint16_t>(69 - i % 10);
    add_frame(station(to_port[i]), station(1));
  }
  EXPECT_EQ(forward(1), net::kBurstSize);
  for (uint16_t p = 60; p < 70; ++p) {
    std::vector<uint16_t> expected;
    for (uint16_t i = 0; i < net::kBurstSize; ++i) {
      if (to_port[i] == p) expected.push_back(i);
    }
    EXPECT_EQ(port(p).received(), expected) << "port " << p;
  }
}

TEST_F(L2ForwardingTest, PortsAddedLaterAreReachedToo) {
  add_frame(kBroadcast, station(1));
  EXPECT_EQ(forward(1), 69u);  // the worker's lists now hold 70 ports and some slack
  while (ports_.size() < 300) {
    ports_.push_back(std::make_unique<RecordingPort>("vm" + std::to_string(ports_.size())));
    view_.ports.push_back(ports_.back().get());
    view_.peer.push_back(-1);
  }
  add_frame(kBroadcast, station(299));
  EXPECT_EQ(forward(299), 299u);
  add_frame(station(299), station(2));
  add_frame(station(1), station(2));
  EXPECT_EQ(forward(2), 2u);
  EXPECT_EQ(port(299).received().back(), 0);
  EXPECT_EQ(port(1).received().back(), 1);
}

TEST_F(L2ForwardingTest, FrameBackToItsInputPortIsFiltered) {
  add_frame(kBroadcast, station(65));
  forward(65);
  add_frame(station(65), station(66));
  EXPECT_EQ(forward(65), 0u);
  EXPECT_EQ(stats_.drop_filtered.get(), 1u);
}

}  // namespace
}  // namespace ringlane::dataplane
