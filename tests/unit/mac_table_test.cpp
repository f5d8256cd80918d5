// MacTable: learning, lookup, station moves, aging and per-port flush, plus concurrent learners.
#include "ringlane/dataplane/mac_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>
#include <tuple>
#include <vector>

namespace ringlane::dataplane {
namespace {

constexpr uint64_t kAging = 1000;

TEST(MacTable, LearnsAndLooksUp) {
  MacTable t(64, kAging);
  EXPECT_EQ(t.lookup(0x020000000001, 0), MacTable::kNoPort);
  t.learn(0x020000000001, 3, 10);
  EXPECT_EQ(t.lookup(0x020000000001, 20), 3);
  EXPECT_EQ(t.lookup(0x020000000002, 20), MacTable::kNoPort);
}

TEST(MacTable, FollowsAStationThatMoves) {
  MacTable t(64, kAging);
  t.learn(0x020000000001, 1, 10);
  t.learn(0x020000000001, 2, 11);
  EXPECT_EQ(t.lookup(0x020000000001, 12), 2);
  EXPECT_EQ(t.size(12), 1u);
}

TEST(MacTable, EntriesAgeOutUnlessRefreshed) {
  MacTable t(64, kAging);
  t.learn(0x020000000001, 1, 0);
  t.learn(0x020000000002, 2, 0);
  EXPECT_EQ(t.lookup(0x020000000001, kAging), 1);
  t.learn(0x020000000002, 2, kAging);  // seen again: stays
  EXPECT_EQ(t.lookup(0x020000000001, kAging + 1), MacTable::kNoPort);
  EXPECT_EQ(t.lookup(0x020000000002, kAging + 1), 2);
}

TEST(MacTable, FlushPortForgetsOnlyThatPort) {
  MacTable t(64, kAging);
  t.learn(0x020000000001, 1, 0);
  t.learn(0x020000000002, 2, 0);
  t.flush_port(1);
  EXPECT_EQ(t.lookup(0x020000000001, 1), MacTable::kNoPort);
  EXPECT_EQ(t.lookup(0x020000000002, 1), 2);
}

TEST(MacTable, FullBucketEvictsTheOldestEntry) {
  MacTable t(1, kAging);  // one bucket of four entries
  for (uint64_t i = 0; i < 4; ++i) t.learn(0x020000000010 + i, static_cast<uint16_t>(i), 10 + i);
  t.learn(0x020000000020, 9, 20);
  EXPECT_EQ(t.lookup(0x020000000010, 21), MacTable::kNoPort);  // the oldest went
  EXPECT_EQ(t.lookup(0x020000000020, 21), 9);
  EXPECT_EQ(t.lookup(0x020000000013, 21), 3);
}

TEST(MacTable, ConcurrentLearnersNeverProduceATornEntry) {
  MacTable t(16, 1u << 30);
  std::vector<std::thread> threads;
  for (uint16_t w = 0; w < 2; ++w) {
    threads.emplace_back([&t, w] {
      for (uint64_t i = 0; i < 200000; ++i) {
        uint64_t mac = 0x020000000000 + (i % 32);
        t.learn(mac, static_cast<uint16_t>(mac & 0xff), i);
      }
      (void)w;
    });
  }
  for (auto& th : threads) th.join();
  // Whatever a lookup finds must be the port that belongs with that MAC.
  for (uint64_t i = 0; i < 32; ++i) {
    uint16_t port = t.lookup(0x020000000000 + i, 200000);
    if (port != MacTable::kNoPort) {
      EXPECT_EQ(port, i);
    }
  }
}

TEST(MacTable, OneAddressInTwoVlansIsTwoStations) {
  MacTable t(64, 1000);
  t.learn(0x020000000001, 1, 10, 10);
  t.learn(0x020000000001, 2, 10, 20);
  EXPECT_EQ(t.lookup(0x020000000001, 11, 10), 1);
  EXPECT_EQ(t.lookup(0x020000000001, 11, 20), 2);
  EXPECT_EQ(t.lookup(0x020000000001, 11, 30), MacTable::kNoPort);
  EXPECT_EQ(t.lookup(0x020000000001, 11), MacTable::kNoPort) << "VLAN 0 is a VLAN of its own";
  std::vector<std::tuple<uint64_t, uint16_t, uint16_t>> live;
  t.for_each(11, [&](uint64_t mac, uint16_t vlan, uint16_t port, uint64_t age) {
    EXPECT_EQ(age, 1u);
    live.emplace_back(mac, vlan, port);
  });
  std::sort(live.begin(), live.end());
  EXPECT_EQ(live, (std::vector<std::tuple<uint64_t, uint16_t, uint16_t>>{{0x020000000001, 10, 1},
                                                                         {0x020000000001, 20, 2}}));
  EXPECT_EQ(t.size(11), 2u);
}

TEST(MacTable, FlushesOnePortOrAll) {
  MacTable t(64, 1000);
  t.learn(0x020000000001, 1, 10);
  t.learn(0x020000000002, 1, 10);
  t.learn(0x020000000003, 2, 10);
  EXPECT_EQ(t.flush_port(1), 2u);
  EXPECT_EQ(t.lookup(0x020000000001, 11), MacTable::kNoPort);
  EXPECT_EQ(t.lookup(0x020000000003, 11), 2);
  EXPECT_EQ(t.flush(), 1u);
  EXPECT_EQ(t.size(11), 0u);
}

TEST(MacTable, AgesCorrectlyAcrossTheTimeWrap) {
  // Time is kept modulo 2^52 beside the VLAN: a TSC past that must not make entries look old.
  constexpr uint64_t kAging = 1000;
  const uint64_t near_wrap = (uint64_t{1} << 52) - 10;
  MacTable t(64, kAging);
  t.learn(0x020000000001, 7, near_wrap, 4094);
  EXPECT_EQ(t.lookup(0x020000000001, near_wrap + 500, 4094), 7);
  EXPECT_EQ(t.lookup(0x020000000001, near_wrap + kAging + 1, 4094), MacTable::kNoPort);
  // A real TSC is far above 2^52 on a machine up for weeks.
  const uint64_t late = (uint64_t{5} << 52) + 12345;
  t.learn(0x020000000002, 3, late, 1);
  EXPECT_EQ(t.lookup(0x020000000002, late + 1, 1), 3);
}

TEST(MacAddress, ReadsNetworkOrderAndDetectsMulticast) {
  const uint8_t bytes[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb};
  EXPECT_EQ(read_mac(bytes), 0x01005e0000fbull);
  EXPECT_TRUE(is_multicast(read_mac(bytes)));
  EXPECT_FALSE(is_multicast(0x020000000001));
  EXPECT_TRUE(is_multicast(0xffffffffffff));
}

}  // namespace
}  // namespace ringlane::dataplane
