// FramePool: the transmit frames an AF_XDP socket owns: taken until none is left, given back,
// and addresses that are not its frames (or one too many) refused.
#include <gtest/gtest.h>

#include <set>

#include "ringlane/uplink/frame_pool.h"

namespace ringlane::uplink {
namespace {

TEST(FramePool, HandsOutEachFrameOnceUntilEmpty) {
  FramePool pool(8192, 4, 2048);
  std::set<uint64_t> seen;
  uint64_t addr = 0;
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(pool.take(addr));
    EXPECT_EQ((addr - 8192) % 2048, 0u);
    EXPECT_GE(addr, 8192u);
    EXPECT_LT(addr, 8192u + 4 * 2048);
    seen.insert(addr);
  }
  EXPECT_EQ(seen.size(), 4u);
  EXPECT_EQ(pool.free_count(), 0u);
  EXPECT_EQ(pool.in_flight(), 4u);
  EXPECT_FALSE(pool.take(addr));
}

TEST(FramePool, TakesLowAddressesFirst) {
  FramePool pool(0, 3, 4096);
  uint64_t addr = 1;
  ASSERT_TRUE(pool.take(addr));
  EXPECT_EQ(addr, 0u);
  ASSERT_TRUE(pool.take(addr));
  EXPECT_EQ(addr, 4096u);
}

TEST(FramePool, GivenBackFramesCanBeTakenAgain) {
  FramePool pool(0, 2, 4096);
  uint64_t a = 0, b = 0, c = 0;
  ASSERT_TRUE(pool.take(a));
  ASSERT_TRUE(pool.take(b));
  EXPECT_TRUE(pool.put(a));
  EXPECT_EQ(pool.in_flight(), 1u);
  ASSERT_TRUE(pool.take(c));
  EXPECT_EQ(c, a);
  EXPECT_TRUE(pool.put(b));
  EXPECT_TRUE(pool.put(c));
  EXPECT_EQ(pool.free_count(), 2u);
}

TEST(FramePool, RefusesAddressesThatAreNotItsFrames) {
  FramePool pool(8192, 2, 4096);
  uint64_t a = 0;
  ASSERT_TRUE(pool.take(a));
  EXPECT_FALSE(pool.put(0));                // below the pool (a receive frame)
  EXPECT_FALSE(pool.put(8192 + 2 * 4096));  // past the end
  EXPECT_FALSE(pool.put(8192 + 100));       // inside a frame, not its start
  EXPECT_EQ(pool.in_flight(), 1u);
  EXPECT_TRUE(pool.put(a));
  EXPECT_FALSE(pool.put(a));  // the pool is full: a completion returned twice
  EXPECT_EQ(pool.free_count(), 2u);
}

}  // namespace
}  // namespace ringlane::uplink
