// IntxRelay with real eventfds: a signal on a watched eventfd becomes one call (the eventfd
// drained), and nothing is read from eventfds no longer watched (they belong to irqfds then).
#include "ringlane/vmm/pci/intx_relay.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "ringlane/base/event_fd.h"

namespace ringlane::vmm {
namespace {

bool wait_until(const std::function<bool()>& done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

TEST(IntxRelay, WatchedEventfdSignalsBecomeCallsAndUnwatchedOnesAreLeftAlone) {
  std::atomic<int> calls{0};
  Result<std::unique_ptr<IntxRelay>> relay = IntxRelay::create([&] { ++calls; });
  ASSERT_TRUE(relay.ok());
  Result<EventFd> a = EventFd::create();
  Result<EventFd> b = EventFd::create();
  ASSERT_TRUE(a.ok() && b.ok());
  (*relay)->watch({a->fd(), b->fd()});
  ASSERT_TRUE(a->signal().ok());
  ASSERT_TRUE(wait_until([&] { return calls.load() == 1; }));
  ASSERT_TRUE(b->signal().ok());
  ASSERT_TRUE(wait_until([&] { return calls.load() == 2; }));
  EXPECT_EQ(a->drain(), 0U) << "the relay consumed the signal";

  (*relay)->watch({});
  ASSERT_TRUE(a->signal().ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(calls.load(), 2);
  EXPECT_EQ(a->drain(), 1U) << "left for whoever watches it now";
}

}  // namespace
}  // namespace ringlane::vmm
