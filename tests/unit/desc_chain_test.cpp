// walk_chain: the parser of guest-written descriptor tables. Each hostile table must be refused
// with the exact status that tells the caller whether to break the queue or drop one chain.
#include "ringlane/virtio/desc_chain.h"

#include <gtest/gtest.h>

#include <limits>
#include <vector>

#include "fake_guest.h"
#include "ringlane/virtio/request_chain.h"

namespace ringlane::virtio {
namespace {

using virtio::kDescFIndirect;
using virtio::kDescFNext;
using virtio::kDescFWrite;

constexpr uint16_t kRingSize = 16;

class DescChainTest : public ::testing::Test {
 protected:
  ChainWalk walk(uint16_t head, Access access = Access::device_reads, bool indirect = true,
                 uint32_t capacity = 16) {
    spans_.assign(capacity, HostSpan{nullptr, 0});
    return walk_chain(guest_.memory(), ring_.layout().desc, ring_.size(), head, access, indirect,
                      spans_);
  }

  RequestChainWalk walk_request(uint16_t head) {
    spans_.assign(16, HostSpan{nullptr, 0});
    return walk_request_chain(guest_.memory(), ring_.layout().desc, ring_.size(), head, true,
                              spans_);
  }

  FakeGuest guest_;
  FakeRing ring_{guest_, kRingSize};
  std::vector<HostSpan> spans_;
};

TEST_F(DescChainTest, DirectChainYieldsOneSpanPerBuffer) {
  uint64_t a = guest_.alloc(100), b = guest_.alloc(200), c = guest_.alloc(300);
  uint16_t head = ring_.add_chain({{a, 100}, {b, 200}, {c, 300}});
  ChainWalk w = walk(head);
  ASSERT_EQ(w.status, ChainStatus::ok);
  ASSERT_EQ(w.spans, 3u);
  EXPECT_EQ(w.bytes, 600u);
  EXPECT_EQ(spans_[0].data, guest_.host(a));
  EXPECT_EQ(spans_[0].len, 100u);
  EXPECT_EQ(spans_[1].data, guest_.host(b));
  EXPECT_EQ(spans_[2].data, guest_.host(c));
  EXPECT_EQ(spans_[2].len, 300u);
}

TEST_F(DescChainTest, WritableChainForDeviceWrites) {
  uint64_t a = guest_.alloc(2048);
  uint16_t head = ring_.add_chain({{a, 2048, true}});
  ChainWalk w = walk(head, Access::device_writes);
  ASSERT_EQ(w.status, ChainStatus::ok);
  EXPECT_EQ(w.spans, 1u);
  EXPECT_EQ(w.bytes, 2048u);
}

// A request-response chain (virtio-blk): readable header and data, then writable data and status.
TEST_F(DescChainTest, RequestWalkSplitsTheChainWhereItTurnsWritable) {
  uint64_t header = guest_.alloc(16), data = guest_.alloc(512), status = guest_.alloc(1);
  uint16_t head = ring_.add_chain({{header, 16}, {data, 512, true}, {status, 1, true}});
  RequestChainWalk w = walk_request(head);
  ASSERT_EQ(w.status, ChainStatus::ok);
  EXPECT_EQ(w.spans, 3u);
  EXPECT_EQ(w.bytes, 529u);
  EXPECT_EQ(w.readable_spans, 1u);
  EXPECT_EQ(w.readable_bytes, 16u);
  EXPECT_EQ(spans_[2].data, guest_.host(status));
}

TEST_F(DescChainTest, RequestWalkTakesAllReadableOrAllWritable) {
  uint64_t a = guest_.alloc(64), b = guest_.alloc(64);
  RequestChainWalk reads = walk_request(ring_.add_chain({{a, 64}, {b, 64}}));
  ASSERT_EQ(reads.status, ChainStatus::ok);
  EXPECT_EQ(reads.readable_spans, 2u);
  EXPECT_EQ(reads.readable_bytes, 128u);
  RequestChainWalk writes = walk_request(ring_.add_chain({{a, 64, true}, {b, 64, true}}));
  ASSERT_EQ(writes.status, ChainStatus::ok);
  EXPECT_EQ(writes.readable_spans, 0u);
  EXPECT_EQ(writes.readable_bytes, 0u);
  EXPECT_EQ(writes.spans, 2u);
}

TEST_F(DescChainTest, RequestWalkRefusesAReadableBufferAfterAWritableOne) {
  uint64_t a = guest_.alloc(16), b = guest_.alloc(16), c = guest_.alloc(1);
  uint16_t head = ring_.add_chain({{a, 16}, {b, 16, true}, {c, 1}});
  EXPECT_EQ(walk_request(head).status, ChainStatus::wrong_direction);
}

// The request walk shares the walker: loops, bad heads and unmapped buffers are refused alike.
TEST_F(DescChainTest, RequestWalkRefusesWhatTheNetWalkRefuses) {
  uint64_t a = guest_.alloc(64);
  ring_.set_desc(3, a, 64, kDescFNext, 4);
  ring_.set_desc(4, a, 64, kDescFNext | kDescFWrite, 3);
  EXPECT_EQ(walk_request(3).status, ChainStatus::wrong_direction);  // readable after writable
  ring_.set_desc(6, a, 64, kDescFNext | kDescFWrite, 6);
  EXPECT_EQ(walk_request(6).status, ChainStatus::too_long);
  EXPECT_EQ(walk_request(kRingSize).status, ChainStatus::bad_head);
  ring_.set_desc(7, uint64_t{1} << 50, 64, kDescFWrite, 0);
  EXPECT_EQ(walk_request(7).status, ChainStatus::unmapped);
}

TEST_F(DescChainTest, ChainAsLongAsTheQueueIsAccepted) {
  std::vector<virtio::Buf> bufs;
  for (int i = 0; i < kRingSize; ++i) bufs.push_back({guest_.alloc(8), 8});
  uint16_t head = ring_.add_chain(bufs);
  ChainWalk w = walk(head);
  EXPECT_EQ(w.status, ChainStatus::ok);
  EXPECT_EQ(w.spans, kRingSize);
}

TEST_F(DescChainTest, ZeroLengthBuffersAreSkipped) {
  uint64_t a = guest_.alloc(64);
  uint16_t head = ring_.add_chain({{a, 0}, {a, 64}, {a, 0}});
  ChainWalk w = walk(head);
  ASSERT_EQ(w.status, ChainStatus::ok);
  EXPECT_EQ(w.spans, 1u);
  EXPECT_EQ(w.bytes, 64u);
}

TEST_F(DescChainTest, IndirectChain) {
  uint64_t a = guest_.alloc(12), b = guest_.alloc(1500);
  uint16_t head = ring_.add_indirect({{a, 12}, {b, 1500}});
  ChainWalk w = walk(head);
  ASSERT_EQ(w.status, ChainStatus::ok);
  ASSERT_EQ(w.spans, 2u);
  EXPECT_EQ(w.bytes, 1512u);
  EXPECT_EQ(spans_[0].data, guest_.host(a));
  EXPECT_EQ(spans_[1].data, guest_.host(b));
}

TEST_F(DescChainTest, IndirectWithoutTheFeatureIsFatal) {
  uint64_t a = guest_.alloc(64);
  uint16_t head = ring_.add_indirect({{a, 64}});
  ChainWalk w = walk(head, Access::device_reads, /*indirect=*/false);
  EXPECT_NE(w.status, ChainStatus::ok);
  EXPECT_TRUE(is_fatal(w.status));
}

TEST(DescChainRegions, BufferSpanningTwoRegionsYieldsTwoSpans) {
  FakeGuest guest({{0x10000, 0x10000}, {0x20000, 0x10000}});
  FakeRing ring(guest, 8);
  uint16_t head = ring.add_chain({{0x1ff00, 0x200}});
  std::vector<HostSpan> spans(4);
  ChainWalk w =
      walk_chain(guest.memory(), ring.layout().desc, 8, head, Access::device_reads, false, spans);
  ASSERT_EQ(w.status, ChainStatus::ok);
  ASSERT_EQ(w.spans, 2u);
  EXPECT_EQ(w.bytes, 0x200u);
  EXPECT_EQ(spans[0].data, guest.host(0x1ff00));
  EXPECT_EQ(spans[0].len, 0x100u);
  EXPECT_EQ(spans[1].data, guest.host(0x20000));
  EXPECT_EQ(spans[1].len, 0x100u);

  // The same buffer with room for only one span is our limit, not the guest's fault.
  ChainWalk tight = walk_chain(guest.memory(), ring.layout().desc, 8, head, Access::device_reads,
                               false, std::span(spans.data(), 1));
  EXPECT_EQ(tight.status, ChainStatus::too_many_segments);
  EXPECT_FALSE(is_fatal(tight.status));
}

TEST_F(DescChainTest, LoopIsTooLong) {
  uint64_t a = guest_.alloc(64);
  ring_.set_desc(3, a, 64, kDescFNext, 4);
  ring_.set_desc(4, a, 64, kDescFNext, 5);
  ring_.set_desc(5, a, 64, kDescFNext, 3);  // back to the start
  EXPECT_EQ(walk(3, Access::device_reads, true, 64).status, ChainStatus::too_long);
  ring_.set_desc(6, a, 64, kDescFNext, 6);  // onto itself
  EXPECT_EQ(walk(6, Access::device_reads, true, 64).status, ChainStatus::too_long);
  EXPECT_TRUE(is_fatal(ChainStatus::too_long));
}

TEST_F(DescChainTest, LoopInsideIndirectTableIsTooLong) {
  uint64_t a = guest_.alloc(64);
  virtio::VringDesc table[2] = {{a, 64, kDescFNext, 1}, {a, 64, kDescFNext, 0}};
  uint64_t t = guest_.alloc(sizeof(table), 16);
  guest_.write(t, table, sizeof(table));
  ring_.set_desc(0, t, sizeof(table), kDescFIndirect, 0);
  EXPECT_EQ(walk(0, Access::device_reads, true, 64).status, ChainStatus::too_long);
}

TEST_F(DescChainTest, HeadOutOfRange) {
  EXPECT_EQ(walk(kRingSize).status, ChainStatus::bad_head);
  EXPECT_EQ(walk(0xffff).status, ChainStatus::bad_head);
}

TEST_F(DescChainTest, NextOutOfRange) {
  uint64_t a = guest_.alloc(64);
  ring_.set_desc(2, a, 64, kDescFNext, kRingSize);
  EXPECT_EQ(walk(2).status, ChainStatus::bad_next);
}

TEST_F(DescChainTest, NextOutOfRangeInsideIndirectTable) {
  uint64_t a = guest_.alloc(64);
  virtio::VringDesc table[2] = {{a, 64, kDescFNext, 1}, {a, 64, kDescFNext, 2}};
  uint64_t t = guest_.alloc(sizeof(table), 16);
  guest_.write(t, table, sizeof(table));
  ring_.set_desc(0, t, sizeof(table), kDescFIndirect, 0);
  EXPECT_EQ(walk(0).status, ChainStatus::bad_next);
}

TEST_F(DescChainTest, IndirectInsideIndirectIsNested) {
  uint64_t a = guest_.alloc(64);
  virtio::VringDesc inner[1] = {{a, 64, 0, 0}};
  uint64_t inner_gpa = guest_.alloc(sizeof(inner), 16);
  guest_.write(inner_gpa, inner, sizeof(inner));
  virtio::VringDesc outer[1] = {{inner_gpa, sizeof(inner), kDescFIndirect, 0}};
  uint64_t outer_gpa = guest_.alloc(sizeof(outer), 16);
  guest_.write(outer_gpa, outer, sizeof(outer));
  ring_.set_desc(1, outer_gpa, sizeof(outer), kDescFIndirect, 0);
  EXPECT_EQ(walk(1).status, ChainStatus::nested_indirect);
}

TEST_F(DescChainTest, MalformedIndirectDescriptors) {
  uint64_t a = guest_.alloc(64);
  virtio::VringDesc table[2] = {{a, 64, kDescFNext, 1}, {a, 64, 0, 0}};
  uint64_t t = guest_.alloc(sizeof(table), 16);
  guest_.write(t, table, sizeof(table));
  ring_.set_desc(0, t, sizeof(table), kDescFIndirect | kDescFNext, 1);  // NEXT with INDIRECT
  ring_.set_desc(1, a, 64, 0, 0);
  EXPECT_EQ(walk(0).status, ChainStatus::bad_indirect);
  ring_.set_desc(0, t, 24, kDescFIndirect, 0);  // not a multiple of 16
  EXPECT_EQ(walk(0).status, ChainStatus::bad_indirect);
  ring_.set_desc(0, t, 0, kDescFIndirect, 0);  // empty
  EXPECT_EQ(walk(0).status, ChainStatus::bad_indirect);
  ring_.set_desc(0, t, sizeof(table), kDescFIndirect, 0);  // and the well-formed one
  EXPECT_EQ(walk(0).status, ChainStatus::ok);
}

TEST_F(DescChainTest, IndirectTableOutsideMemory) {
  ring_.set_desc(0, 0x10, 32, kDescFIndirect, 0);
  EXPECT_EQ(walk(0).status, ChainStatus::bad_indirect);
  // Starts inside, ends outside.
  uint64_t end = FakeGuest::kDefaultBase + FakeGuest::kDefaultSize;
  ring_.set_desc(0, end - 16, 32, kDescFIndirect, 0);
  EXPECT_EQ(walk(0).status, ChainStatus::bad_indirect);
}

TEST(DescChainRegions, IndirectTableSplitAcrossRegionsIsRefused) {
  // Mapped, but not contiguous in our address space: the table must be one host block.
  FakeGuest guest({{0x10000, 0x10000}, {0x20000, 0x10000}});
  FakeRing ring(guest, 8);
  ring.set_desc(0, 0x20000 - 16, 32, kDescFIndirect, 0);
  std::vector<HostSpan> spans(4);
  EXPECT_EQ(walk_chain(guest.memory(), ring.layout().desc, 8, 0, Access::device_reads, true, spans)
                .status,
            ChainStatus::bad_indirect);
}

TEST_F(DescChainTest, BufferOutsideGuestMemoryIsUnmapped) {
  uint16_t head = ring_.add_chain({{guest_.alloc(64), 64}, {0x10, 64}});
  EXPECT_EQ(walk(head).status, ChainStatus::unmapped);
  uint64_t end = FakeGuest::kDefaultBase + FakeGuest::kDefaultSize;
  head = ring_.add_chain({{end - 32, 64}});  // runs off the end
  EXPECT_EQ(walk(head).status, ChainStatus::unmapped);
}

TEST_F(DescChainTest, AddressPlusLengthOverflowIsUnmapped) {
  uint16_t head = ring_.add_chain({{std::numeric_limits<uint64_t>::max() - 15, 64}});
  EXPECT_EQ(walk(head).status, ChainStatus::unmapped);
  head = ring_.add_chain({{guest_.alloc(64), 0xffffffff}});
  EXPECT_EQ(walk(head).status, ChainStatus::unmapped);
}

TEST_F(DescChainTest, WritableBufferWhereTheDeviceReads) {
  uint64_t a = guest_.alloc(64);
  uint16_t head = ring_.add_chain({{a, 12}, {a, 52, true}});
  EXPECT_EQ(walk(head, Access::device_reads).status, ChainStatus::wrong_direction);
}

TEST_F(DescChainTest, ReadOnlyBufferWhereTheDeviceWrites) {
  uint64_t a = guest_.alloc(64);
  uint16_t head = ring_.add_chain({{a, 32, true}, {a, 32, false}});
  EXPECT_EQ(walk(head, Access::device_writes).status, ChainStatus::wrong_direction);
  uint16_t indirect = ring_.add_indirect({{a, 64, false}});
  EXPECT_EQ(walk(indirect, Access::device_writes).status, ChainStatus::wrong_direction);
}

TEST_F(DescChainTest, TooManySegmentsIsNotFatal) {
  std::vector<virtio::Buf> bufs;
  for (int i = 0; i < 5; ++i) bufs.push_back({guest_.alloc(8), 8});
  uint16_t head = ring_.add_chain(bufs);
  ChainWalk w = walk(head, Access::device_reads, true, 4);
  EXPECT_EQ(w.status, ChainStatus::too_many_segments);
  EXPECT_FALSE(is_fatal(w.status));
  EXPECT_EQ(walk(head, Access::device_reads, true, 5).status, ChainStatus::ok);
}

TEST(ChainStatus, EveryStatusHasAName) {
  for (auto s :
       {ChainStatus::ok, ChainStatus::bad_head, ChainStatus::bad_next, ChainStatus::too_long,
        ChainStatus::nested_indirect, ChainStatus::bad_indirect, ChainStatus::unmapped,
        ChainStatus::wrong_direction, ChainStatus::too_many_segments}) {
    EXPECT_STRNE(to_string(s), "unknown");
  }
}

}  // namespace
}  // namespace ringlane::virtio
