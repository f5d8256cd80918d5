// SplitQueue notification logic: the call eventfd is signalled exactly when the driver asked
// (used_event with EVENT_IDX, the NO_INTERRUPT flag without), and configure() tells the driver
// it need not kick a busy-polling device.
#include "ringlane/virtio/split_queue.h"

#include <gtest/gtest.h>

#include "fake_guest.h"
#include "log_capture.h"
#include "ringlane/base/event_fd.h"

namespace ringlane::virtio {
namespace {

class SplitQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto fd = EventFd::create();
    ASSERT_TRUE(fd.ok());
    call_ = std::make_unique<EventFd>(std::move(*fd));
  }

  void configure(bool event_idx, uint16_t last_avail = 0) {
    queue_.configure(&guest_.memory(), ring_.layout(), event_idx, false, last_avail);
    queue_.set_call_fd(call_->fd());
  }

  // Completes one (fake) buffer and publishes it; returns the signals the guest got.
  uint64_t complete_one() {
    queue_.put_used(0, 0);
    queue_.publish_used();
    return call_->drain();
  }

  FakeGuest guest_;
  FakeRing ring_{guest_, 16};
  SplitQueue queue_;
  std::unique_ptr<EventFd> call_;
};

TEST_F(SplitQueueTest, WithoutEventIdxConfigureAsksForNoKicks) {
  configure(false);
  EXPECT_EQ(ring_.used_flags() & virtio::kUsedFNoNotify, virtio::kUsedFNoNotify);
}

TEST_F(SplitQueueTest, WithEventIdxConfigureWritesAvailEvent) {
  ring_.set_avail_idx(7);
  configure(true, 7);
  // avail_event one behind the index: the driver would kick only after 2^16 more buffers.
  EXPECT_EQ(ring_.avail_event(), 6);
  EXPECT_EQ(ring_.used_flags() & virtio::kUsedFNoNotify, 0);
}

TEST_F(SplitQueueTest, WithoutEventIdxSignalsUnlessNoInterrupt) {
  configure(false);
  EXPECT_EQ(complete_one(), 1u);
  EXPECT_EQ(complete_one(), 1u);
  ring_.set_avail_flags(virtio::kAvailFNoInterrupt);
  EXPECT_EQ(complete_one(), 0u);
  EXPECT_EQ(complete_one(), 0u);
  ring_.set_avail_flags(0);
  EXPECT_EQ(complete_one(), 1u);
  EXPECT_EQ(queue_.stats().notifications.get(), 3u);
  EXPECT_EQ(ring_.used_idx(), 5);
}

TEST_F(SplitQueueTest, WithEventIdxSignalsOnlyWhenUsedIndexPassesUsedEvent) {
  configure(true);
  ring_.set_avail_flags(virtio::kAvailFNoInterrupt);  // ignored with EVENT_IDX
  ring_.set_used_event(0);
  EXPECT_EQ(complete_one(), 1u);  // used idx 0 -> 1 crosses used_event 0
  EXPECT_EQ(complete_one(), 0u);  // 1 -> 2: the driver has not asked again
  ring_.set_used_event(3);
  EXPECT_EQ(complete_one(), 0u);  // 2 -> 3
  EXPECT_EQ(complete_one(), 1u);  // 3 -> 4 crosses 3
  EXPECT_EQ(complete_one(), 0u);
  EXPECT_EQ(queue_.stats().notifications.get(), 2u);
}

TEST_F(SplitQueueTest, WithEventIdxOneSignalForABatchThatCrossesUsedEvent) {
  configure(true);
  ring_.set_used_event(2);
  for (int i = 0; i < 5; ++i) queue_.put_used(0, 0);
  queue_.publish_used();
  EXPECT_EQ(call_->drain(), 1u);
  EXPECT_EQ(ring_.used_idx(), 5);
  // A used_event already passed before this batch: no signal.
  ring_.set_used_event(1);
  EXPECT_EQ(complete_one(), 0u);
}

TEST_F(SplitQueueTest, NothingPublishedNothingSignalled) {
  configure(false);
  queue_.publish_used();
  EXPECT_EQ(call_->drain(), 0u);
  EXPECT_EQ(ring_.used_idx(), 0);
}

TEST_F(SplitQueueTest, ResumesFromTheUsedIndexInTheRing) {
  ring_.layout().used->idx = 9;
  configure(false, 9);
  queue_.put_used(4, 100);
  queue_.publish_used();
  EXPECT_EQ(ring_.used_idx(), 10);
  EXPECT_EQ(ring_.used(9).id, 4u);
  EXPECT_EQ(ring_.used(9).len, 100u);
}

TEST_F(SplitQueueTest, BrokenQueueLogsItsLabel) {
  queue_.set_label("vm0 queue 1 (tx of pair 0)");
  configure(false);
  ring_.set_avail_idx(17);  // one more than the ring holds
  LogCapture log;
  EXPECT_EQ(queue_.avail_count(), 0);
  queue_.mark_broken(ChainStatus::bad_head, 3);  // already broken: counted, not logged again
  EXPECT_TRUE(queue_.broken());
  EXPECT_EQ(queue_.stats().ring_errors.get(), 2u);
  ASSERT_EQ(log.lines().size(), 1u);
  EXPECT_EQ(log.lines()[0],
            "vm0 queue 1 (tx of pair 0): virtqueue broken: avail index jumped from 0 to 17");
}

TEST(EventIdx, NeedEventMatchesTheSpecFormula) {
  EXPECT_TRUE(virtio::vring_need_event(0, 1, 0));
  EXPECT_FALSE(virtio::vring_need_event(1, 1, 0));
  EXPECT_TRUE(virtio::vring_need_event(5, 10, 0));
  EXPECT_FALSE(virtio::vring_need_event(10, 10, 0));
  EXPECT_TRUE(virtio::vring_need_event(65535, 1, 65534));  // across the wrap
}

}  // namespace
}  // namespace ringlane::virtio
