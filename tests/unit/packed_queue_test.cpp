// PackedQueue against a fake packed-ring driver: chains found in ring order and completed by
// buffer id, both wrap counters over many laps of rings whose size is not a power of two,
// indirect tables, event suppression both ways, the hand-over position, and every way a hostile
// driver can break the ring protocol (the queue breaks, counts, and says why, once).
#include "ringlane/virtio/packed_queue.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "fake_guest.h"
#include "fake_packed_ring.h"
#include "log_capture.h"
#include "ringlane/base/event_fd.h"

namespace ringlane::virtio {
namespace {

class PackedQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto fd = EventFd::create();
    ASSERT_TRUE(fd.ok());
    call_ = std::make_unique<EventFd>(std::move(*fd));
  }

  void make(uint16_t size, bool event_idx = false, bool indirect = true,
            PackedPosition start = {}) {
    ring_ = std::make_unique<FakePackedRing>(guest_, size);
    queue_.configure(&guest_.memory(), ring_->layout(), event_idx, indirect, start);
    queue_.set_call_fd(call_->fd());
    queue_.set_label("vm0 queue 1 (tx of pair 0)");
    queue_.set_live(true);
  }

  struct Taken {
    uint16_t id;
    ChainWalk walk;
    std::vector<HostSpan> spans;
  };
  // The device's side of a burst: up to `want` chains found, walked and consumed.
  std::vector<Taken> take(uint16_t want, Access access = Access::device_reads) {
    std::vector<Taken> out;
    uint16_t n = queue_.avail_count(want);
    for (uint16_t i = 0; i < n; ++i) {
      Taken t{queue_.head_at(i), {}, std::vector<HostSpan>(16)};
      t.walk = queue_.walk(t.id, access, t.spans);
      t.spans.resize(t.walk.spans);
      out.push_back(std::move(t));
    }
    queue_.consume(n);
    return out;
  }
  void complete(const std::vector<Taken>& taken, uint32_t len = 0) {
    for (const Taken& t : taken) queue_.put_used(t.id, len);
    queue_.publish_used();
  }
  Buf buf(uint32_t len, bool writable = false) { return Buf{guest_.alloc(len), len, writable}; }

  FakeGuest guest_;
  std::unique_ptr<FakePackedRing> ring_;
  PackedQueue queue_;
  std::unique_ptr<EventFd> call_;
};

TEST_F(PackedQueueTest, ChainsAreTakenInRingOrderAndCompletedByBufferId) {
  make(8);
  uint16_t a = ring_->offer({buf(100)});
  uint16_t b = ring_->offer({buf(10), buf(20)});
  uint16_t c = ring_->offer({buf(1), buf(2), buf(3)});
  std::vector<Taken> taken = take(32);
  ASSERT_EQ(taken.size(), 3u);
  EXPECT_EQ(taken[0].id, a);
  EXPECT_EQ(taken[1].id, b);
  EXPECT_EQ(taken[2].id, c);
  EXPECT_EQ(taken[0].walk.bytes, 100u);
  EXPECT_EQ(taken[1].walk.spans, 2u);
  EXPECT_EQ(taken[1].walk.bytes, 30u);
  EXPECT_EQ(taken[2].walk.spans, 3u);
  EXPECT_EQ(taken[2].walk.bytes, 6u);
  EXPECT_EQ(taken[1].spans[0].data, guest_.host(ring_->desc(1).addr));
  EXPECT_EQ(queue_.position(), (PackedPosition{6, true, 0, true}));
  EXPECT_FALSE(ring_->take_used().has_value());  // nothing published yet

  complete(taken);
  for (uint16_t id : {a, b, c}) {
    auto used = ring_->take_used();
    ASSERT_TRUE(used.has_value());
    EXPECT_EQ(used->id, id);
    EXPECT_EQ(used->len, 0u);
    // Read-only buffers: no WRITE, so the driver ignores the length.
    EXPECT_EQ(used->flags, kPackedDescFAvail | kPackedDescFUsed);
  }
  EXPECT_FALSE(ring_->take_used().has_value());
  EXPECT_EQ(queue_.position(), (PackedPosition{6, true, 6, true}));
  EXPECT_EQ(call_->drain(), 1u);  // one interrupt for the batch (driver events ENABLE)
  EXPECT_EQ(queue_.stats().ring_errors.get(), 0u);
}

TEST_F(PackedQueueTest, UsedDescriptorsOfWrittenBuffersCarryWriteAndLength) {
  make(4);
  ring_->offer({buf(2048, true)});
  std::vector<Taken> taken = take(32, Access::device_writes);
  ASSERT_EQ(taken.size(), 1u);
  ASSERT_EQ(taken[0].walk.status, ChainStatus::ok);
  complete(taken, 1514);
  auto used = ring_->take_used();
  ASSERT_TRUE(used.has_value());
  EXPECT_EQ(used->len, 1514u);
  EXPECT_EQ(used->flags, kPackedDescFAvail | kPackedDescFUsed | kDescFWrite);
}

// Rings of sizes that are not powers of two, chains of one to three descriptors, many laps:
// the avail and used wrap counters flip at the right descriptor, every time, on both sides.
TEST_F(PackedQueueTest, BothWrapCountersWrapOverManyRounds) {
  for (uint16_t size : {uint16_t{1}, uint16_t{5}, uint16_t{7}, uint16_t{16}}) {
    SCOPED_TRACE(size);
    make(size);
    uint32_t seed = 1;
    uint32_t avail_flips = 0;
    uint32_t used_flips = 0;
    uint32_t next_len = 0;
    std::vector<uint32_t> expected;  // lengths completed, in order
    for (int round = 0; round < 300; ++round) {
      // Offer while there is room, chains of 1-3 descriptors (as many as fit).
      std::vector<uint16_t> offered;
      bool wrap_before = ring_->avail_wrap();
      while (ring_->free_slots() > 0) {
        seed = seed * 1103515245 + 12345;
        uint16_t descs = static_cast<uint16_t>(1 + (seed >> 16) % 3);
        descs = std::min(descs, ring_->free_slots());
        std::vector<Buf> bufs;
        for (uint16_t d = 0; d < descs; ++d) bufs.push_back(buf(64, true));
        offered.push_back(ring_->offer(bufs));
        if ((seed >> 20) % 4 == 0) break;  // sometimes a partly filled ring
      }
      avail_flips += ring_->avail_wrap() != wrap_before;
      std::vector<Taken> taken =
          take(static_cast<uint16_t>(offered.size() + 1), Access::device_writes);
      ASSERT_EQ(taken.size(), offered.size());
      for (size_t i = 0; i < taken.size(); ++i) {
        ASSERT_EQ(taken[i].id, offered[i]);
        ASSERT_EQ(taken[i].walk.status, ChainStatus::ok);
      }
      for (const Taken& t : taken) {
        queue_.put_used(t.id, ++next_len);
        expected.push_back(next_len);
      }
      queue_.publish_used();
      bool used_wrap_before = ring_->used_wrap();
      for (size_t i = 0; i < taken.size(); ++i) {
        auto used = ring_->take_used();
        ASSERT_TRUE(used.has_value()) << "round " << round;
        EXPECT_EQ(used->id, taken[i].id);
        EXPECT_EQ(used->len, expected[expected.size() - taken.size() + i]);
      }
      used_flips += ring_->used_wrap() != used_wrap_before;
      ASSERT_FALSE(ring_->take_used().has_value());
      ASSERT_EQ(queue_.position(), (PackedPosition{ring_->next_avail(), ring_->avail_wrap(),
                                                   ring_->last_used(), ring_->used_wrap()}));
    }
    EXPECT_GT(avail_flips, 20u);
    EXPECT_GT(used_flips, 20u);
    EXPECT_EQ(queue_.stats().ring_errors.get(), 0u);
  }
}

TEST_F(PackedQueueTest, ChainsFoundButNotConsumedAreFoundAgain) {
  make(8);
  uint16_t a = ring_->offer({buf(10)});
  uint16_t b = ring_->offer({buf(10), buf(10)});
  uint16_t c = ring_->offer({buf(10)});
  ASSERT_EQ(queue_.avail_count(1), 1);
  ASSERT_EQ(queue_.avail_count(8), 3);  // asked again for more
  EXPECT_EQ(queue_.head_at(2), c);
  queue_.consume(1);
  EXPECT_EQ(queue_.position().avail_idx, 1);
  ASSERT_EQ(queue_.avail_count(8), 2);
  EXPECT_EQ(queue_.head_at(0), b);
  EXPECT_EQ(queue_.head_at(1), c);
  queue_.consume(2);
  EXPECT_EQ(queue_.position().avail_idx, 4);
  queue_.put_used(a, 0);
  queue_.put_used(b, 0);
  queue_.put_used(c, 0);
  queue_.publish_used();
  EXPECT_EQ(ring_->take_used()->id, a);
  EXPECT_EQ(ring_->take_used()->id, b);
  EXPECT_EQ(ring_->take_used()->id, c);
  EXPECT_EQ(queue_.stats().ring_errors.get(), 0u);
}

TEST_F(PackedQueueTest, OutOfOrderCompletionWritesUsedInCompletionOrder) {
  make(8);
  uint16_t a = ring_->offer({buf(10), buf(10), buf(10)});
  uint16_t b = ring_->offer({buf(10)});
  std::vector<Taken> taken = take(8);
  ASSERT_EQ(taken.size(), 2u);
  queue_.put_used(b, 0);  // b first: its used descriptor goes to slot 0, a's to slot 1
  queue_.put_used(a, 0);
  queue_.publish_used();
  EXPECT_EQ(ring_->take_used()->id, b);
  EXPECT_EQ(ring_->take_used()->id, a);
  EXPECT_EQ(queue_.position().used_idx, 4);
}

TEST_F(PackedQueueTest, CompletingAnIdNotTakenWritesNothing) {
  make(8);
  ring_->offer({buf(10)});
  queue_.put_used(3, 0);  // never offered
  queue_.publish_used();
  EXPECT_FALSE(ring_->take_used().has_value());
  EXPECT_EQ(queue_.position().used_idx, 0);
}

TEST_F(PackedQueueTest, IndirectTableIsWalked) {
  make(8);
  Buf h = buf(12), d1 = buf(100), d2 = buf(200);
  uint16_t id = ring_->offer_indirect({h, d1, d2});
  std::vector<Taken> taken = take(8);
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0].id, id);
  ASSERT_EQ(taken[0].walk.status, ChainStatus::ok);
  EXPECT_EQ(taken[0].walk.spans, 3u);
  EXPECT_EQ(taken[0].walk.bytes, 312u);
  EXPECT_EQ(taken[0].spans[2].data, guest_.host(d2.gpa));
  complete(taken);
  EXPECT_EQ(ring_->take_used()->id, id);
  EXPECT_EQ(queue_.position().used_idx, 1);
}

// Walker errors: the status the caller breaks the queue with (as for split rings).
class PackedWalkTest : public PackedQueueTest {
 protected:
  // Writes an indirect table of `entries` and one ring descriptor pointing at it.
  ChainStatus walk_indirect(const std::vector<PackedDesc>& entries, uint32_t len_override = 0,
                            uint16_t ring_flags = 0, bool indirect = true) {
    make(8, false, indirect);
    uint64_t bytes = entries.size() * sizeof(PackedDesc);
    uint64_t gpa = guest_.alloc(bytes == 0 ? 16 : bytes, 16);
    if (bytes) guest_.write(gpa, entries.data(), bytes);
    ring_->write_desc(0, gpa, len_override ? len_override : static_cast<uint32_t>(bytes), 0,
                      static_cast<uint16_t>(ring_->avail_flags() | kDescFIndirect | ring_flags));
    return take(1)[0].walk.status;
  }
  PackedDesc entry(uint32_t len, uint16_t flags = 0) {
    return PackedDesc{guest_.alloc(len), len, 0, flags};
  }
};

TEST_F(PackedWalkTest, IndirectTableRules) {
  EXPECT_EQ(walk_indirect({entry(10), entry(20)}), ChainStatus::ok);
  // NEXT inside the table is reserved and ignored, except where it points past the end.
  EXPECT_EQ(walk_indirect({entry(10, kDescFNext), entry(20)}), ChainStatus::ok);
  EXPECT_EQ(walk_indirect({entry(10), entry(20, kDescFNext)}), ChainStatus::bad_indirect);
  EXPECT_EQ(walk_indirect({entry(10), entry(20, kDescFIndirect)}), ChainStatus::nested_indirect);
  EXPECT_EQ(walk_indirect({entry(10), entry(20)}, 24), ChainStatus::bad_indirect);  // 1.5 entries
  EXPECT_EQ(walk_indirect({}, 0), ChainStatus::bad_indirect);                       // empty
  EXPECT_EQ(walk_indirect(std::vector<PackedDesc>(9, entry(1))), ChainStatus::too_long);
  EXPECT_EQ(walk_indirect({entry(10)}, 0, 0, false), ChainStatus::bad_indirect);  // not offered
  EXPECT_EQ(walk_indirect({entry(10, kDescFWrite)}), ChainStatus::wrong_direction);
}

TEST_F(PackedWalkTest, IndirectTableOutsideMemory) {
  make(8);
  ring_->write_desc(0, FakeGuest::kDefaultBase + FakeGuest::kDefaultSize - 16, 32, 0,
                    static_cast<uint16_t>(ring_->avail_flags() | kDescFIndirect));
  EXPECT_EQ(take(1)[0].walk.status, ChainStatus::bad_indirect);
}

TEST_F(PackedWalkTest, IndirectOnlyAsTheLastDescriptor) {
  make(8);
  uint64_t table = guest_.alloc(16, 16);
  PackedDesc e = entry(10);
  guest_.write(table, &e, sizeof(e));
  // A direct buffer, then the indirect one: allowed, as in split rings.
  ring_->write_desc(1, table, 16, 0, static_cast<uint16_t>(ring_->avail_flags() | kDescFIndirect));
  ring_->write_desc(0, guest_.alloc(8), 8, 0,
                    static_cast<uint16_t>(ring_->avail_flags() | kDescFNext));
  std::vector<Taken> taken = take(1);
  EXPECT_EQ(taken[0].walk.status, ChainStatus::ok);
  EXPECT_EQ(taken[0].walk.bytes, 18u);
}

TEST_F(PackedWalkTest, IndirectWithNextIsRefused) {
  make(8);
  uint64_t table = guest_.alloc(16, 16);
  PackedDesc e = entry(10);
  guest_.write(table, &e, sizeof(e));
  ring_->write_desc(1, guest_.alloc(8), 8, 0, ring_->avail_flags());
  ring_->write_desc(0, table, 16, 0,
                    static_cast<uint16_t>(ring_->avail_flags() | kDescFIndirect | kDescFNext));
  EXPECT_EQ(take(1)[0].walk.status, ChainStatus::bad_indirect);
}

TEST_F(PackedWalkTest, DirectionLimitsAndMemory) {
  make(8);
  ring_->offer({buf(10), buf(10, true)});  // readable then writable
  ring_->offer({buf(10, true), buf(10)});  // writable then readable
  ring_->write_desc(4, FakeGuest::kDefaultBase + FakeGuest::kDefaultSize - 8, 16, 7,
                    static_cast<uint16_t>(ring_->avail_flags() | kDescFWrite));
  ring_->skip(1);
  std::vector<Taken> taken = take(8, Access::device_writes);
  ASSERT_EQ(taken.size(), 3u);
  EXPECT_EQ(taken[0].walk.status, ChainStatus::wrong_direction);
  EXPECT_EQ(taken[1].walk.status, ChainStatus::wrong_direction);
  EXPECT_EQ(taken[2].walk.status, ChainStatus::unmapped);
}

TEST_F(PackedWalkTest, MoreSpansThanTheCallerHoldsIsALimitNotABreak) {
  make(8);
  uint16_t id = ring_->offer({buf(1), buf(1), buf(1)});
  ASSERT_EQ(queue_.avail_count(1), 1);
  std::vector<HostSpan> two(2);
  ChainWalk w = queue_.walk(id, Access::device_reads, two);
  EXPECT_EQ(w.status, ChainStatus::too_many_segments);
  EXPECT_FALSE(is_fatal(w.status));
}

// The descriptors are copied once when found: what the driver writes afterwards is not read.
TEST_F(PackedWalkTest, RewritingAFoundChainChangesNothing) {
  make(8);
  Buf a = buf(100), b = buf(200);
  uint16_t id = ring_->offer({a, b});
  ASSERT_EQ(queue_.avail_count(1), 1);
  ring_->desc(1).addr = 0xdead0000;
  ring_->desc(1).len = 5;
  ring_->desc(0).flags = static_cast<uint16_t>(ring_->desc(0).flags | kDescFIndirect);
  std::vector<HostSpan> spans(4);
  ChainWalk w = queue_.walk(id, Access::device_reads, spans);
  ASSERT_EQ(w.status, ChainStatus::ok);
  EXPECT_EQ(w.bytes, 300u);
  EXPECT_EQ(spans[1].data, guest_.host(b.gpa));
}

// Ring protocol violations found while scanning: the queue breaks, ring_errors counts, one log
// line names the queue and the reason; the chains found before the bad one are still served.
class PackedHostileTest : public PackedQueueTest {
 protected:
  void expect_broken(const std::string& reason) {
    EXPECT_TRUE(queue_.broken());
    EXPECT_FALSE(queue_.serving());
    EXPECT_EQ(queue_.stats().ring_errors.get(), 1u);
    ASSERT_EQ(log_.lines().size(), 1u);
    EXPECT_EQ(log_.lines()[0], "vm0 queue 1 (tx of pair 0): virtqueue broken: " + reason);
  }
  LogCapture log_;
};

TEST_F(PackedHostileTest, BufferIdOutOfRange) {
  make(8);
  ring_->offer({buf(10)});
  ring_->write_desc(1, guest_.alloc(10), 10, 11, ring_->avail_flags());
  EXPECT_EQ(queue_.avail_count(8), 1);
  expect_broken("buffer id 11 out of range (queue size 8)");
  EXPECT_EQ(queue_.avail_count(8), 1);  // broken: no further scan, nothing new
}

TEST_F(PackedHostileTest, BufferIdMadeAvailableTwiceInOneScan) {
  make(8);
  ring_->write_desc(0, guest_.alloc(10), 10, 3, ring_->avail_flags());
  ring_->write_desc(1, guest_.alloc(10), 10, 3, ring_->avail_flags());
  EXPECT_EQ(queue_.avail_count(8), 1);
  expect_broken("buffer id 3 made available twice");
}

TEST_F(PackedHostileTest, BufferIdMadeAvailableWhileInFlight) {
  make(8);
  uint16_t id = ring_->offer({buf(10)});
  ASSERT_EQ(take(8).size(), 1u);  // taken, not completed
  ring_->write_desc(1, guest_.alloc(10), 10, id, ring_->avail_flags());
  EXPECT_EQ(queue_.avail_count(8), 0);
  expect_broken("buffer id 0 made available while in flight");
}

TEST_F(PackedHostileTest, ChainLongerThanTheRing) {
  make(4);
  for (uint16_t i = 0; i < 4; ++i) {
    ring_->write_desc(i, guest_.alloc(10), 10, 0,
                      static_cast<uint16_t>(ring_->avail_flags() | kDescFNext));
  }
  EXPECT_EQ(queue_.avail_count(8), 0);
  expect_broken("the chain starting at descriptor 0 is longer than the queue");
}

TEST_F(PackedHostileTest, ChainLongerThanTheFreePartOfTheRing) {
  make(4);
  ring_->offer({buf(10)});
  ring_->offer({buf(10)});
  ASSERT_EQ(take(8).size(), 2u);  // slots 0 and 1 held
  for (uint16_t i = 2; i < 4; ++i) {
    ring_->write_desc(i, guest_.alloc(10), 10, 2,
                      static_cast<uint16_t>(ring_->avail_flags() | kDescFNext));
  }
  EXPECT_EQ(queue_.avail_count(8), 0);
  expect_broken("the chain starting at descriptor 2 is longer than the free part of the ring");
}

TEST_F(PackedHostileTest, ChainWhoseRestIsNotAvailable) {
  make(8);
  ring_->offer({buf(10)});
  ring_->write_desc(1, guest_.alloc(10), 10, 1,
                    static_cast<uint16_t>(ring_->avail_flags() | kDescFNext));
  // descriptor 2 keeps the zeroes of a fresh ring: not available in the first lap
  EXPECT_EQ(queue_.avail_count(8), 1);
  expect_broken("descriptor 2 of the chain starting at 1 is not available");
}

TEST_F(PackedHostileTest, DescriptorMadeAvailableWhileTheDeviceHoldsIt) {
  make(4);
  for (int i = 0; i < 4; ++i) ring_->offer({buf(10)});
  ASSERT_EQ(take(8).size(), 4u);  // the whole ring in flight
  // The driver writes the next lap's flags over a slot it has not got back, with a fresh id.
  ring_->write_desc(0, guest_.alloc(10), 10, 0, FakePackedRing::avail_flags(false));
  EXPECT_EQ(queue_.avail_count(8), 0);
  expect_broken("descriptor 0 made available while the device holds it");
}

TEST_F(PackedHostileTest, FoundChainsFillingTheRingThenOneMore) {
  make(4);
  for (int i = 0; i < 3; ++i) ring_->offer({buf(10)});
  ASSERT_EQ(take(8).size(), 3u);
  ring_->offer({buf(10)});  // the fourth slot: legal
  // A fifth chain in the next lap over slot 0, still held: not legal.
  ring_->write_desc(0, guest_.alloc(10), 10, 3, FakePackedRing::avail_flags(false));
  EXPECT_EQ(queue_.avail_count(8), 1);
  expect_broken("descriptor 0 made available while the device holds it");
}

TEST_F(PackedHostileTest, WalkerErrorsBreakThroughMarkBroken) {
  make(8);
  queue_.mark_broken(ChainStatus::unmapped, 5);
  queue_.mark_broken(ChainStatus::bad_indirect, 6);  // counted, not logged again
  EXPECT_EQ(queue_.stats().ring_errors.get(), 2u);
  ASSERT_EQ(log_.lines().size(), 1u);
  EXPECT_EQ(log_.lines()[0],
            "vm0 queue 1 (tx of pair 0): virtqueue broken: buffer outside guest memory "
            "(buffer id 5)");
}

TEST_F(PackedQueueTest, ConfigureAsksForNoKicksAndKicksCanBeTurnedOn) {
  make(8);
  EXPECT_EQ(ring_->device_event().flags, kRingEventFlagsDisable);
  EXPECT_FALSE(queue_.enable_kicks());  // nothing available: the worker may sleep
  EXPECT_EQ(ring_->device_event().flags, kRingEventFlagsEnable);
  ring_->offer({buf(10)});
  EXPECT_TRUE(queue_.enable_kicks());  // one arrived meanwhile: it must not
  queue_.disable_kicks();
  EXPECT_EQ(ring_->device_event().flags, kRingEventFlagsDisable);
}

TEST_F(PackedQueueTest, NoInterruptWhileTheDriverDisablesThem) {
  make(8);
  ring_->set_driver_event(kRingEventFlagsDisable);
  for (int i = 0; i < 3; ++i) {
    ring_->offer({buf(10)});
    complete(take(8));
  }
  EXPECT_EQ(call_->drain(), 0u);
  ring_->set_driver_event(kRingEventFlagsEnable);
  ring_->offer({buf(10)});
  complete(take(8));
  EXPECT_EQ(call_->drain(), 1u);
  EXPECT_EQ(queue_.stats().notifications.get(), 1u);
}

TEST_F(PackedQueueTest, WithEventIdxTheInterruptComesAtTheDescriptorAsked) {
  make(6, true);
  auto off_wrap = [](uint16_t off, bool wrap) {
    return static_cast<uint16_t>(off | (wrap ? kRingEventWrapBit : 0));
  };
  ring_->set_driver_event(kRingEventFlagsDesc, off_wrap(3, true));
  std::vector<uint64_t> calls;
  // Chains of 2 descriptors: used slots 0, 2, 4, then 0, 2, 4 of the next lap.
  for (int i = 0; i < 6; ++i) {
    ring_->offer({buf(10), buf(10)});
    complete(take(8));
    while (ring_->take_used()) {
    }
    calls.push_back(call_->drain());
    if (i == 2) ring_->set_driver_event(kRingEventFlagsDesc, off_wrap(2, false));
  }
  // Slot 3 is passed by the chain used at 2 (it covers 2 and 3); in the second lap slot 2 of
  // wrap 0 is the fifth chain's.
  EXPECT_EQ(calls, (std::vector<uint64_t>{0, 1, 0, 0, 1, 0}));
}

TEST_F(PackedQueueTest, DescWithoutEventIdxMeansInterrupt) {
  make(8, false);
  ring_->set_driver_event(kRingEventFlagsDesc, 5);
  ring_->offer({buf(10)});
  complete(take(8));
  EXPECT_EQ(call_->drain(), 1u);
}

// What a stop reports is where a restart (on another queue object, as after a reconnect) goes
// on: nothing taken twice, nothing lost, the wrap counters right.
TEST_F(PackedQueueTest, PositionAfterAStopIsWhereAResumeGoesOn) {
  make(5);
  for (int round = 0; round < 7; ++round) {
    ring_->offer({buf(10), buf(10)});
    complete(take(8));
    ASSERT_TRUE(ring_->take_used().has_value());
  }
  queue_.set_live(false);
  PackedPosition stop = queue_.position();
  EXPECT_EQ(stop, (PackedPosition{4, true, 4, true}));  // 14 descriptors: lap 2, index 4
  PackedPosition handed = PackedPosition::from_vring_base(stop.to_vring_base());
  EXPECT_EQ(handed, stop);

  PackedQueue resumed;
  resumed.configure(&guest_.memory(), ring_->layout(), false, true, handed);
  resumed.set_live(true);
  uint16_t a = ring_->offer({buf(10), buf(10)});  // slots 4 and 0 of the next lap
  uint16_t b = ring_->offer({buf(30)});
  ASSERT_EQ(resumed.avail_count(8), 2);
  EXPECT_EQ(resumed.head_at(0), a);
  EXPECT_EQ(resumed.head_at(1), b);
  std::vector<HostSpan> spans(4);
  EXPECT_EQ(resumed.walk(b, Access::device_reads, spans).bytes, 30u);
  resumed.consume(2);
  resumed.put_used(a, 0);
  resumed.put_used(b, 0);
  resumed.publish_used();
  EXPECT_EQ(ring_->take_used()->id, a);
  EXPECT_EQ(ring_->take_used()->id, b);
  EXPECT_EQ(resumed.position(), (PackedPosition{2, false, 2, false}));
}

TEST(PackedPosition, VringBaseLayout) {
  PackedPosition p{0x1234, true, 0x0567, false};
  EXPECT_EQ(p.to_vring_base(), 0x1234u | 0x8000u | 0x0567u << 16);
  EXPECT_EQ(PackedPosition::from_vring_base(p.to_vring_base()), p);
  PackedPosition q{3, false, 9, true};
  EXPECT_EQ(PackedPosition::from_vring_base(q.to_vring_base()), q);
  // Only the avail half: the used position is taken to be the same.
  EXPECT_EQ(PackedPosition::from_vring_base(0x8000 | 17), (PackedPosition{17, true, 17, true}));
  EXPECT_EQ(PackedPosition::from_vring_base(0), (PackedPosition{0, false, 0, false}));
}

TEST_F(PackedQueueTest, OccupancyCountsAvailableDescriptors) {
  make(8);
  EXPECT_EQ(queue_.occupancy(), 0);
  ring_->offer({buf(10), buf(10)});
  ring_->offer({buf(10)});
  EXPECT_EQ(queue_.occupancy(), 3);
  take(1);
  EXPECT_EQ(queue_.occupancy(), 1);
  queue_.set_live(false);
  EXPECT_EQ(queue_.occupancy(), 0);
}

TEST_F(PackedQueueTest, AStartPastTheRingIsBroughtInside) {
  make(8, false, true, PackedPosition{20, true, 9, true});
  EXPECT_EQ(queue_.position(), (PackedPosition{4, true, 1, true}));
}

}  // namespace
}  // namespace ringlane::virtio
