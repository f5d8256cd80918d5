#include <gtest/gtest.h>

#include <cerrno>

#include "ringlane/vfio/memlock.h"

namespace ringlane::vfio {
namespace {

TEST(Memlock, FormatsSizes) {
  EXPECT_EQ(format_bytes(512), "512 bytes");
  EXPECT_EQ(format_bytes(64 << 10), "64 KiB");
  EXPECT_EQ(format_bytes(3 << 20), "3 MiB");
  EXPECT_EQ(format_bytes(1536ull << 20), "1.5 GiB");
}

TEST(Memlock, EnomemOverTheLimitSaysWhatToRaise) {
  MemlockState state{1 << 20, 8 << 20};  // 1 MiB locked of 8 MiB
  Error e = dma_map_error(ENOMEM, 0x100000, 16 << 20, state);
  EXPECT_EQ(e.code(), ENOMEM);
  const std::string& m = e.message();
  EXPECT_NE(m.find("RLIMIT_MEMLOCK of 8 MiB"), std::string::npos) << m;
  EXPECT_NE(m.find("17 MiB locked"), std::string::npos) << m;
  EXPECT_NE(m.find("ulimit -l 17408"), std::string::npos) << m;
  EXPECT_NE(m.find("LimitMEMLOCK=17408K"), std::string::npos) << m;
  EXPECT_NE(m.find("IOVA 0x100000-0x10fffff"), std::string::npos) << m;
}

TEST(Memlock, OtherFailuresAreNotBlamedOnTheLimit) {
  // ENOMEM within the limit (the kernel is short of memory) and other errors: plain errors.
  Error within = dma_map_error(ENOMEM, 0, 1 << 20, MemlockState{0, 64 << 20});
  EXPECT_EQ(within.code(), ENOMEM);
  EXPECT_EQ(within.message().find("RLIMIT_MEMLOCK"), std::string::npos) << within.message();
  Error unlimited = dma_map_error(ENOMEM, 0, 1ull << 40, MemlockState{0, UINT64_MAX});
  EXPECT_EQ(unlimited.message().find("RLIMIT_MEMLOCK"), std::string::npos);
  Error exists = dma_map_error(EEXIST, 0, 1ull << 40, MemlockState{0, 4096});
  EXPECT_EQ(exists.code(), EEXIST);
  EXPECT_EQ(exists.message().find("RLIMIT_MEMLOCK"), std::string::npos);
}

TEST(Memlock, ReadsThisProcessesLimit) {
  auto state = current_memlock_state();
  ASSERT_TRUE(state.ok());
  EXPECT_GT(state->limit_bytes, 0u);
}

}  // namespace
}  // namespace ringlane::vfio
