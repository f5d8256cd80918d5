// LogLimit: each source gets its own lines per second, and the first line after a stretch of
// left-out ones says how many were left out.
#include "ringlane/base/log_limit.h"

#include <gtest/gtest.h>
#include <time.h>

#include <string>

#include "log_capture.h"

namespace ringlane {
namespace {

long monotonic_second() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec;
}

// Waits for the start of the next CLOCK_MONOTONIC second, so a test's lines fall in one window.
void wait_for_next_second() {
  long now = monotonic_second();
  while (monotonic_second() == now) {
    timespec nap{0, 1'000'000};
    nanosleep(&nap, nullptr);
  }
}

TEST(LogLimit, PassesItsShareAndCountsTheRest) {
  LogCapture log;
  LogLimit limit(3);
  wait_for_next_second();
  for (int i = 0; i < 10; ++i) limit.log(LogLevel::warn, "line " + std::to_string(i));
  ASSERT_EQ(log.lines().size(), 3u);
  EXPECT_EQ(log.lines()[2], "line 2");
  EXPECT_EQ(limit.left_out(), 7u);
}

TEST(LogLimit, SourcesDoNotShareALimit) {
  LogCapture log;
  LogLimit hostile(2), neighbour(2);
  wait_for_next_second();
  for (int i = 0; i < 100; ++i) hostile.log(LogLevel::warn, "evil: bad message");
  neighbour.log(LogLevel::warn, "vm0: virtqueue broken");
  ASSERT_EQ(log.lines().size(), 3u);
  EXPECT_EQ(log.lines().back(), "vm0: virtqueue broken");
}

TEST(LogLimit, NextWindowSaysHowManyWereLeftOut) {
  LogCapture log;
  LogLimit limit(1);
  wait_for_next_second();
  for (int i = 0; i < 5; ++i) limit.log(LogLevel::warn, "again");
  wait_for_next_second();
  limit.log(LogLevel::warn, "again");
  ASSERT_EQ(log.lines().size(), 2u);
  EXPECT_EQ(log.lines()[1], "again (4 similar lines left out before this one)");
  EXPECT_EQ(limit.left_out(), 0u);
}

TEST(LogLimit, LinesBelowTheLevelNeitherPrintNorCount) {
  LogCapture log;
  LogLimit limit(1);
  LogLevel saved = log_level();
  set_log_level(LogLevel::warn);
  limit.log(LogLevel::info, "connected");
  set_log_level(saved);
  EXPECT_TRUE(log.lines().empty());
  EXPECT_EQ(limit.left_out(), 0u);
}

TEST(LogLimit, ResetStartsAfresh) {
  LogCapture log;
  LogLimit limit(1);
  wait_for_next_second();
  limit.log(LogLevel::warn, "a");
  limit.log(LogLevel::warn, "b");
  limit.reset();
  limit.log(LogLevel::warn, "c");
  ASSERT_EQ(log.lines().size(), 2u);
  EXPECT_EQ(log.lines()[1], "c");
}

}  // namespace
}  // namespace ringlane
