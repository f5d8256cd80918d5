// ringlane's XDP program, run by the kernel on frames built here (BPF_PROG_TEST_RUN), loaded on
// no interface: which frames it steers to ringlane (counted as steered; with no socket in its map
// the verdict falls back to XDP_PASS), which it leaves to the kernel, and the multicast copies it
// puts in its ring buffer, read back through BpfRingReader. Needs root (CAP_BPF); skipped
// otherwise.
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <vector>

#include "ringlane/uplink/bpf_ring_reader.h"
#include "ringlane/uplink/xdp_steering.h"

namespace ringlane::uplink {
namespace {

constexpr uint64_t kHostMac = 0x02aa00000001;
constexpr uint64_t kStationMac = 0x02bb00000002;
constexpr uint64_t kOtherMac = 0x02cc00000003;
constexpr uint64_t kBroadcast = 0xffffffffffff;

std::vector<uint8_t> frame(uint64_t dst, int vid = -1, size_t len = 64) {
  std::vector<uint8_t> f(len, 0x5a);
  for (int i = 0; i < 6; ++i) {
    f[i] = static_cast<uint8_t>(dst >> (40 - 8 * i));
    f[6 + i] = static_cast<uint8_t>(0x0200000000ff >> (40 - 8 * i));
  }
  size_t at = 12;
  if (vid >= 0) {
    f[at++] = 0x81;
    f[at++] = 0x00;
    f[at++] = static_cast<uint8_t>(vid >> 8);
    f[at++] = static_cast<uint8_t>(vid);
  }
  f[at++] = 0x08;
  f[at++] = 0x00;
  return f;
}

class XdpProgram : public ::testing::Test {
 protected:
  // Loads the program configured with `settings` and enables it; skips when not allowed.
  void load(SteeringSettings settings) {
    settings.own_mac = kHostMac;
    auto loaded = XdpSteering::load_unattached(settings);
    if (!loaded.ok() && (loaded.error().code() == EPERM || geteuid() != 0)) {
      GTEST_SKIP() << "loading BPF programs needs root: " << loaded.error().to_string();
    }
    ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
    program_ = std::move(*loaded);
    ASSERT_TRUE(program_->enable().ok());
  }

  // Runs one frame; returns the verdict and which counter moved (RL_STAT_COUNT when none did).
  std::pair<int, int> run(const std::vector<uint8_t>& f) {
    auto before = program_->statistics();
    auto verdict = program_->run(f);
    EXPECT_TRUE(verdict.ok()) << verdict.error().to_string();
    auto after = program_->statistics();
    int moved = RL_STAT_COUNT;
    for (int i = 0; i < RL_STAT_COUNT; ++i) {
      if (after[i] != before[i]) {
        EXPECT_EQ(after[i], before[i] + 1);
        EXPECT_EQ(moved, RL_STAT_COUNT) << "two counters moved";
        moved = i;
      }
    }
    return {verdict.ok() ? *verdict : -1, moved};
  }

  std::unique_ptr<XdpSteering> program_;
};

using Verdict = std::pair<int, int>;

TEST_F(XdpProgram, DisabledPassesEverythingUncounted) {
  SteeringSettings s;
  s.steer_all = true;
  auto loaded = XdpSteering::load_unattached(s);
  if (!loaded.ok()) GTEST_SKIP() << loaded.error().to_string();
  auto before = (*loaded)->statistics();
  auto verdict = (*loaded)->run(frame(kOtherMac));
  ASSERT_TRUE(verdict.ok());
  EXPECT_EQ(*verdict, XDP_PASS);
  EXPECT_EQ((*loaded)->statistics(), before);
}

TEST_F(XdpProgram, CrossConnectSteersEveryUnicastFrameButTheHosts) {
  SteeringSettings s;
  s.steer_all = true;
  load(s);
  if (!program_) return;
  // No socket in the map here: the redirect falls back to the kernel, but it was steered.
  EXPECT_EQ(run(frame(kOtherMac)), Verdict(XDP_PASS, RL_STAT_STEERED));
  EXPECT_EQ(run(frame(kHostMac)), Verdict(XDP_PASS, RL_STAT_OWN_ADDRESS));
  EXPECT_EQ(run(frame(kBroadcast)), Verdict(XDP_PASS, RL_STAT_COPIED));
}

TEST_F(XdpProgram, LearnedModeSteersOnlyAddressesInTheMap) {
  load(SteeringSettings{});
  if (!program_) return;
  EXPECT_EQ(run(frame(kStationMac)), Verdict(XDP_PASS, RL_STAT_PASSED));
  ASSERT_TRUE(program_->add_address(steer_key(kStationMac, 0)).ok());
  EXPECT_EQ(run(frame(kStationMac)), Verdict(XDP_PASS, RL_STAT_STEERED));
  EXPECT_EQ(run(frame(kOtherMac)), Verdict(XDP_PASS, RL_STAT_PASSED));
  // Without VLANs a tagged frame is steered by its address alone (key VLAN 0).
  EXPECT_EQ(run(frame(kStationMac, 10)), Verdict(XDP_PASS, RL_STAT_STEERED));
  ASSERT_TRUE(program_->remove_address(steer_key(kStationMac, 0)).ok());
  EXPECT_EQ(run(frame(kStationMac)), Verdict(XDP_PASS, RL_STAT_PASSED));
  // The host's own address stays the kernel's even when the switch learned it.
  ASSERT_TRUE(program_->add_address(steer_key(kHostMac, 0)).ok());
  EXPECT_EQ(run(frame(kHostMac)), Verdict(XDP_PASS, RL_STAT_OWN_ADDRESS));
}

TEST_F(XdpProgram, AccessUplinkTakesOnlyUntaggedFrames) {
  SteeringSettings s;
  s.vlans = net::PortVlans::from(10, {});
  load(s);
  if (!program_) return;
  ASSERT_TRUE(program_->add_address(steer_key(kStationMac, 0)).ok());
  EXPECT_EQ(run(frame(kStationMac)), Verdict(XDP_PASS, RL_STAT_STEERED));
  EXPECT_EQ(run(frame(kStationMac, 10)), Verdict(XDP_PASS, RL_STAT_OTHER_VLAN));
  EXPECT_EQ(run(frame(kBroadcast, 10)), Verdict(XDP_PASS, RL_STAT_OTHER_VLAN));
}

TEST_F(XdpProgram, TrunkTakesItsVlansTaggedUnderTheirKey) {
  SteeringSettings s;
  s.vlans = net::PortVlans::from(0, {10, 20});
  load(s);
  if (!program_) return;
  ASSERT_TRUE(program_->add_address(steer_key(kStationMac, 20)).ok());
  EXPECT_EQ(run(frame(kStationMac, 20)), Verdict(XDP_PASS, RL_STAT_STEERED));
  EXPECT_EQ(run(frame(kStationMac, 10)), Verdict(XDP_PASS, RL_STAT_PASSED));  // other key
  EXPECT_EQ(run(frame(kStationMac, 30)), Verdict(XDP_PASS, RL_STAT_OTHER_VLAN));
  EXPECT_EQ(run(frame(kStationMac)), Verdict(XDP_PASS, RL_STAT_OTHER_VLAN));  // untagged
  EXPECT_EQ(run(frame(kBroadcast, 10)), Verdict(XDP_PASS, RL_STAT_COPIED));
  EXPECT_EQ(run(frame(kBroadcast, 30)), Verdict(XDP_PASS, RL_STAT_OTHER_VLAN));
}

TEST_F(XdpProgram, MulticastCopiesReachTheRingWhole) {
  SteeringSettings s;
  s.steer_all = true;
  load(s);
  if (!program_) return;
  auto ring = BpfRingReader::map(program_->copy_ring_fd());
  ASSERT_TRUE(ring.ok()) << ring.error().to_string();
  uint32_t len = 0;
  EXPECT_EQ(ring->next(len), nullptr);
  std::vector<uint8_t> sent[3] = {frame(kBroadcast, -1, 60), frame(0x01005e000001, -1, 1514),
                                  frame(0x333300000001, 5, 98)};
  for (const auto& f : sent) EXPECT_EQ(run(f), Verdict(XDP_PASS, RL_STAT_COPIED));
  for (const auto& f : sent) {
    const uint8_t* record = ring->next(len);
    ASSERT_NE(record, nullptr);
    ASSERT_EQ(len, sizeof(rl_copy_record));
    const auto* r = reinterpret_cast<const rl_copy_record*>(record);
    ASSERT_EQ(r->len, f.size());
    EXPECT_EQ(std::memcmp(r->data, f.data(), f.size()), 0);
  }
  EXPECT_EQ(ring->next(len), nullptr);
  EXPECT_TRUE(ring->holding());
  ring->release();
  EXPECT_FALSE(ring->holding());
  // Longer than a record holds: passed to the kernel, not copied.
  EXPECT_EQ(run(frame(kBroadcast, -1, RL_COPY_MAX_FRAME + 1)),
            Verdict(XDP_PASS, RL_STAT_COPY_TOO_LARGE));
  EXPECT_EQ(ring->next(len), nullptr);
}

TEST_F(XdpProgram, RingFullLosesCopiesCountedAndFreedSpaceIsReused) {
  SteeringSettings s;
  s.steer_all = true;
  load(s);
  if (!program_) return;
  auto ring = BpfRingReader::map(program_->copy_ring_fd());
  ASSERT_TRUE(ring.ok());
  // Records of a fixed size: the ring holds a whole number of them, no more.
  size_t fits = RL_COPY_RING_BYTES / ((sizeof(rl_copy_record) + 8 + 7) / 8 * 8);
  for (size_t i = 0; i < fits; ++i) ASSERT_EQ(run(frame(kBroadcast)).second, RL_STAT_COPIED);
  EXPECT_EQ(run(frame(kBroadcast)), Verdict(XDP_PASS, RL_STAT_COPY_LOST));
  uint32_t len = 0;
  size_t read = 0;
  while (ring->next(len) != nullptr) ++read;
  EXPECT_EQ(read, fits);
  ring->release();
  EXPECT_EQ(run(frame(kBroadcast)), Verdict(XDP_PASS, RL_STAT_COPIED));
  EXPECT_NE(ring->next(len), nullptr);
}

}  // namespace
}  // namespace ringlane::uplink
