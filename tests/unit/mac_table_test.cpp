// MacTable: learning, lookup, station moves, aging and per-port flush, plus concurrent learners.
#include "ringlane/dataplane/mac_table.h"

#include <gtest/gtest.h>

#include <thread>
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

TEST(MacAddress, ReadsNetworkOrderAndDetectsMulticast) {
  const uint8_t bytes[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb};
  EXPECT_EQ(read_mac(bytes), 0x01005e0000fbull);
  EXPECT_TRUE(is_multicast(read_mac(bytes)));
  EXPECT_FALSE(is_multicast(0x020000000001));
  EXPECT_TRUE(is_multicast(0xffffffffffff));
}

}  // namespace
}  // namespace ringlane::dataplane
