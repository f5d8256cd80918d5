// QuiescentState: synchronize() must wait for every online reader to pass a quiescent point,
// and must not wait for readers that are offline or unregistered. Waits are bounded so a bug
// fails the test instead of hanging it; nothing here asserts on speed.
#include "ringlane/base/quiescent_state.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace ringlane {
namespace {

using namespace std::chrono_literals;

// Runs synchronize() on its own thread, as the control thread would.
class Synchronizer {
 public:
  explicit Synchronizer(const QuiescentState& qs)
      : thread_([this, &qs] {
          qs.synchronize();
          done_.store(true);
        }) {}
  ~Synchronizer() { thread_.join(); }

  bool done() const { return done_.load(); }
  // True once synchronize() returned, false if it had not within `limit`.
  bool wait_done(std::chrono::milliseconds limit = 10s) const {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
    return done();
  }

 private:
  std::atomic<bool> done_{false};
  std::thread thread_;
};

TEST(QuiescentState, ReturnsAtOnceWithoutReaders) {
  QuiescentState qs;
  Synchronizer sync(qs);
  EXPECT_TRUE(sync.wait_done());
}

TEST(QuiescentState, WaitsForAnOnlineReaderToPassAQuiescentPoint) {
  QuiescentState qs;
  int slot = qs.register_reader();
  ASSERT_GE(slot, 0);
  {
    Synchronizer sync(qs);
    // Still waiting: the reader may hold a reference for as long as it has not announced.
    std::this_thread::sleep_for(50ms);
    EXPECT_FALSE(sync.done());
    qs.quiescent(slot);
    EXPECT_TRUE(sync.wait_done());
  }
  qs.unregister_reader(slot);
}

TEST(QuiescentState, WaitsForAReaderOnAnotherThread) {
  QuiescentState qs;
  int slot = qs.register_reader();
  ASSERT_GE(slot, 0);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> passes{0};
  std::thread worker([&] {
    while (!stop.load()) {
      qs.quiescent(slot);
      passes.fetch_add(1);
      std::this_thread::sleep_for(100us);
    }
  });
  for (int i = 0; i < 20; ++i) {
    Synchronizer sync(qs);
    EXPECT_TRUE(sync.wait_done());
  }
  stop.store(true);
  worker.join();
  EXPECT_GT(passes.load(), 0u);
  qs.unregister_reader(slot);
}

TEST(QuiescentState, DoesNotWaitForAnOfflineReader) {
  QuiescentState qs;
  int slot = qs.register_reader();
  ASSERT_GE(slot, 0);
  qs.offline(slot);
  {
    Synchronizer sync(qs);
    bool returned = sync.wait_done();
    if (!returned) qs.quiescent(slot);  // unblock it so the test fails instead of hanging
    EXPECT_TRUE(returned);
  }
  // Back online, it is waited for again.
  qs.online(slot);
  {
    Synchronizer sync(qs);
    std::this_thread::sleep_for(50ms);
    EXPECT_FALSE(sync.done());
    qs.quiescent(slot);
    EXPECT_TRUE(sync.wait_done());
  }
}

TEST(QuiescentState, GoingOfflineReleasesAWaitingWriter) {
  QuiescentState qs;
  int slot = qs.register_reader();
  Synchronizer sync(qs);
  std::this_thread::sleep_for(20ms);
  qs.offline(slot);  // a worker about to sleep
  EXPECT_TRUE(sync.wait_done());
}

TEST(QuiescentState, UnregisteredReaderIsNotWaitedFor) {
  QuiescentState qs;
  int slot = qs.register_reader();
  qs.unregister_reader(slot);
  Synchronizer sync(qs);
  bool returned = sync.wait_done();
  if (!returned) qs.quiescent(slot);
  EXPECT_TRUE(returned);
}

TEST(QuiescentState, SlotsRunOutAndAreReused) {
  QuiescentState qs;
  std::vector<int> slots;
  for (int i = 0; i < QuiescentState::kMaxReaders; ++i) {
    int s = qs.register_reader();
    ASSERT_GE(s, 0);
    slots.push_back(s);
  }
  EXPECT_EQ(qs.register_reader(), -1);
  qs.unregister_reader(slots[5]);
  EXPECT_EQ(qs.register_reader(), slots[5]);
  for (int s : slots) qs.unregister_reader(s);
}

}  // namespace
}  // namespace ringlane
