// parse_core_list: the --cores syntax ("1", "2-5", "1,3"), and pinning to a core we may use.
#include "ringlane/base/cpu_affinity.h"

#include <gtest/gtest.h>
#include <sched.h>

#include <thread>
#include <vector>

namespace ringlane {
namespace {

std::vector<int> parse_ok(std::string_view text) {
  auto cores = parse_core_list(text);
  EXPECT_TRUE(cores.ok()) << text << ": " << (cores.ok() ? "" : cores.error().to_string());
  return cores.ok() ? *cores : std::vector<int>{};
}

TEST(ParseCoreList, SingleCore) {
  EXPECT_EQ(parse_ok("1"), (std::vector<int>{1}));
}

TEST(ParseCoreList, Range) {
  EXPECT_EQ(parse_ok("2-5"), (std::vector<int>{2, 3, 4, 5}));
}

TEST(ParseCoreList, List) {
  EXPECT_EQ(parse_ok("1,3"), (std::vector<int>{1, 3}));
}

TEST(ParseCoreList, MixedListKeepsOrderAndDropsDuplicates) {
  EXPECT_EQ(parse_ok("7,0-2,1,9-9"), (std::vector<int>{7, 0, 1, 2, 9}));
}

TEST(ParseCoreList, Rejects) {
  for (std::string_view bad : {"", "a", "5-2", "99999", ",1", "1-", "-1", "1-a", " 1", "1 ", "1,,2",
                               "1-2-3", "1024", "2147483648"}) {
    auto cores = parse_core_list(bad);
    EXPECT_FALSE(cores.ok()) << "'" << bad << "'";
    if (!cores.ok()) {
      EXPECT_EQ(cores.error().code(), EINVAL) << bad;
    }
  }
}

TEST(ParseCoreList, ErrorNamesTheBadPart) {
  auto cores = parse_core_list("1,x3");
  ASSERT_FALSE(cores.ok());
  EXPECT_NE(cores.error().message().find("x3"), std::string::npos) << cores.error().message();
  auto range = parse_core_list("5-2");
  ASSERT_FALSE(range.ok());
  EXPECT_NE(range.error().message().find("5-2"), std::string::npos) << range.error().message();
}

TEST(PinCurrentThread, PinsToAnAllowedCore) {
  cpu_set_t allowed;
  ASSERT_EQ(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
  int core = -1;
  for (int c = 0; c < CPU_SETSIZE && core < 0; ++c) {
    if (CPU_ISSET(c, &allowed)) core = c;
  }
  ASSERT_GE(core, 0);
  // On a thread of its own, so the test runner keeps its affinity.
  std::thread t([core] {
    ASSERT_TRUE(pin_current_thread(core).ok());
    cpu_set_t now;
    ASSERT_EQ(sched_getaffinity(0, sizeof(now), &now), 0);
    EXPECT_EQ(CPU_COUNT(&now), 1);
    EXPECT_TRUE(CPU_ISSET(core, &now));
  });
  t.join();
  EXPECT_GE(online_core_count(), 1);
}

TEST(CoresExcept, RemovesTheExcludedAndKeepsOrder) {
  EXPECT_EQ(cores_except({3, 0, 1, 2}, {1, 5}), (std::vector<int>{3, 0, 2}));
  EXPECT_EQ(cores_except({1}, {1}), std::vector<int>{});
  EXPECT_EQ(cores_except({0, 1}, {}), (std::vector<int>{0, 1}));
}

TEST(FormatCoreList, FoldsRunsAndParsesBack) {
  EXPECT_EQ(format_core_list({}), "");
  EXPECT_EQ(format_core_list({0}), "0");
  EXPECT_EQ(format_core_list({0, 2, 3, 4, 7, 9, 10}), "0,2-4,7,9-10");
  EXPECT_EQ(parse_ok(format_core_list({0, 2, 3, 4, 7})), (std::vector<int>{0, 2, 3, 4, 7}));
}

TEST(PinCurrentThread, ToASetOfCoresAndBack) {
  auto allowed = allowed_cores();
  ASSERT_TRUE(allowed.ok());
  ASSERT_FALSE(allowed->empty());
  std::thread t([&] {
    std::vector<int> first{allowed->front()};
    ASSERT_TRUE(pin_current_thread(first).ok());
    auto now = allowed_cores();
    ASSERT_TRUE(now.ok());
    EXPECT_EQ(*now, first);
    ASSERT_TRUE(pin_current_thread(*allowed).ok());
    EXPECT_EQ(*allowed_cores(), *allowed);
  });
  t.join();
}

TEST(PinCurrentThread, RefusesNoCoreOrABadOne) {
  std::thread t([] {
    EXPECT_EQ(pin_current_thread(std::vector<int>{}).error().code(), EINVAL);
    EXPECT_EQ(pin_current_thread(std::vector<int>{-1}).error().code(), EINVAL);
    EXPECT_EQ(pin_current_thread(std::vector<int>{CPU_SETSIZE}).error().code(), EINVAL);
  });
  t.join();
}

}  // namespace
}  // namespace ringlane
