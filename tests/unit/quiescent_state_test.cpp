// QuiescentState: synchronize() must wait for every online reader to pass a quiescent point,
// must not wait for readers that are offline or unregistered, and must wake a reader asleep in
// the kernel (sleep_begin) rather than wait for its sleep to end. Waits are bounded so a bug
// fails the test instead of hanging it; nothing here asserts on speed.
#include "ringlane/base/quiescent_state.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "ringlane/base/event_fd.h"

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
  // True once pred() holds, false if it did not within `limit`.
  template <typename Pred>
  static bool wait_for(Pred pred, std::chrono::milliseconds limit = 10s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
    return pred();
  }
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

// A reader that sleeps in the kernel (a worker under --idle sleep): sleep_begin() with the
// eventfd it polls, then a poll with no timeout of its own (the test's 10 s bound stands in for
// "for ever"). It passes a quiescent point only when woken.
class SleepingReader {
 public:
  explicit SleepingReader(QuiescentState& qs) : qs_(qs), wake_(EventFd::create().value()) {
    slot_ = qs_.register_reader();
    thread_ = std::thread([this] { run(); });
  }
  ~SleepingReader() {
    stop_.store(true);
    (void)wake_.signal();
    thread_.join();
    qs_.unregister_reader(slot_);
  }

  int slot() const { return slot_; }
  bool asleep() const { return asleep_.load(); }
  // How many times the eventfd (not the 10 s bound) ended a sleep.
  uint64_t woken() const { return woken_.load(); }
  uint64_t sleeps() const { return sleeps_.load(); }

 private:
  void run() {
    while (!stop_.load()) {
      qs_.quiescent(slot_);
      qs_.sleep_begin(slot_, wake_.fd());
      sleeps_.fetch_add(1);
      asleep_.store(true);
      pollfd p{wake_.fd(), POLLIN, 0};
      int n = ::poll(&p, 1, 10'000);
      asleep_.store(false);
      qs_.sleep_end(slot_);
      if (n == 1 && (p.revents & POLLIN) != 0 && wake_.drain() > 0) woken_.fetch_add(1);
    }
  }

  QuiescentState& qs_;
  EventFd wake_;
  int slot_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<bool> asleep_{false};
  std::atomic<uint64_t> woken_{0};
  std::atomic<uint64_t> sleeps_{0};
  std::thread thread_;
};

TEST(QuiescentState, SynchronizeWakesASleepingReader) {
  QuiescentState qs;
  SleepingReader reader(qs);
  ASSERT_GE(reader.slot(), 0);
  for (int i = 0; i < 20; ++i) {
    SCOPED_TRACE("round " + std::to_string(i));
    // Even rounds: the reader is in its sleep. Odd rounds: it may be anywhere on its way there
    // (synchronize must not miss it going to sleep after it looked).
    if (i % 2 == 0) ASSERT_TRUE(Synchronizer::wait_for([&] { return reader.asleep(); }));
    uint64_t woken = reader.woken();
    {
      Synchronizer sync(qs);
      ASSERT_TRUE(sync.wait_done());
    }
    // Online all along, it passed its quiescent point only because it was woken.
    if (i % 2 == 0) EXPECT_GT(reader.woken(), woken);
  }
  EXPECT_GE(reader.woken(), 10u);
}

TEST(QuiescentState, WakeSleepersWakesOnlyThoseAsleep) {
  QuiescentState qs;
  SleepingReader reader(qs);
  ASSERT_TRUE(Synchronizer::wait_for([&] { return reader.asleep(); }));
  uint64_t woken = reader.woken();
  qs.wake_sleepers();
  EXPECT_TRUE(Synchronizer::wait_for([&] { return reader.woken() > woken; }));

  // A reader that is not asleep (sleep_end, or never slept) gets no write on its eventfd.
  auto quiet = EventFd::create();
  ASSERT_TRUE(quiet.ok());
  int slot = qs.register_reader();
  ASSERT_GE(slot, 0);
  qs.sleep_begin(slot, quiet.value().fd());
  qs.sleep_end(slot);
  qs.wake_sleepers();
  EXPECT_EQ(quiet.value().drain(), 0u);
  qs.unregister_reader(slot);
}

TEST(QuiescentState, SynchronizeDoesNotWriteToAReaderThatIsAwake) {
  QuiescentState qs;
  auto fd = EventFd::create();
  ASSERT_TRUE(fd.ok());
  int slot = qs.register_reader();
  ASSERT_GE(slot, 0);
  qs.sleep_begin(slot, fd.value().fd());
  qs.sleep_end(slot);
  {
    Synchronizer sync(qs);
    std::this_thread::sleep_for(20ms);
    qs.quiescent(slot);
    EXPECT_TRUE(sync.wait_done());
  }
  EXPECT_EQ(fd.value().drain(), 0u);
  qs.unregister_reader(slot);
}

}  // namespace
}  // namespace ringlane
