#include "ringlane/ethdev/eal_arguments.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace ringlane::ethdev {
namespace {

bool has(const std::vector<std::string>& args, const std::string& arg) {
  return std::find(args.begin(), args.end(), arg) != args.end();
}

// The value after `flag`, or "" when the flag is absent or last.
std::string after(const std::vector<std::string>& args, const std::string& flag) {
  auto at = std::find(args.begin(), args.end(), flag);
  return at == args.end() || at + 1 == args.end() ? "" : *(at + 1);
}

TEST(EalArguments, HugepagesUnlinkedAndMemoryGiven) {
  EalSettings s;
  s.file_prefix = "rl-test";
  s.memory_mb = 512;
  auto args = eal_arguments(s);
  EXPECT_EQ(args.front(), "ringlane");
  EXPECT_TRUE(has(args, "--proc-type=primary"));
  EXPECT_TRUE(has(args, "--file-prefix=rl-test"));
  EXPECT_TRUE(has(args, "--huge-unlink"));
  EXPECT_FALSE(has(args, "--no-huge"));
  EXPECT_EQ(after(args, "-m"), "512");
  EXPECT_TRUE(has(args, "--no-telemetry"));
  EXPECT_TRUE(has(args, "--log-level=5"));
}

TEST(EalArguments, NoHugeInsteadOfUnlink) {
  EalSettings s;
  s.no_huge = true;
  auto args = eal_arguments(s);
  EXPECT_TRUE(has(args, "--no-huge"));
  EXPECT_FALSE(has(args, "--huge-unlink"));
  EXPECT_EQ(after(args, "-m"), "256");
}

TEST(EalArguments, MainLcoreFloatsOverTheControlCoresOnly) {
  EalSettings s;
  s.main_cores = {0, 2, 3};
  auto args = eal_arguments(s);
  EXPECT_TRUE(has(args, "--lcores=0@(0,2,3)"));
  // No worker lcores, no core mask: the workers register themselves.
  for (const auto& a : args) {
    EXPECT_NE(a, "-l");
    EXPECT_NE(a, "-c");
  }
  s.main_cores.clear();
  for (const auto& a : eal_arguments(s)) EXPECT_EQ(a.rfind("--lcores", 0), std::string::npos);
}

TEST(EalArguments, NoPciDeviceProbedAtStart) {
  auto args = eal_arguments({});
  EXPECT_EQ(after(args, "-a"), kNoPciDevice);
}

TEST(EalArguments, DebugRaisesDpdkLogLevel) {
  EalSettings s;
  s.debug = true;
  EXPECT_TRUE(has(eal_arguments(s), "--log-level=7"));
}

}  // namespace
}  // namespace ringlane::ethdev
