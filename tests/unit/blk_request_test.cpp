// parse_request: a virtio-blk chain taken apart into header, data and status, whichever way a
// driver laid it out over descriptors, and each malformed chain named for what is wrong with it.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <vector>

#include "fake_guest.h"
#include "ringlane/blk/request.h"
#include "ringlane/virtio/blk_spec.h"

namespace ringlane::blk {
namespace {

using virtio::Buf;

class BlkRequestTest : public ::testing::Test {
 protected:
  uint64_t header(uint32_t type, uint64_t sector, uint32_t extra = 0) {
    virtio::BlkRequestHeader h{type, 0, sector};
    std::vector<uint8_t> bytes(sizeof(h) + extra, 0xee);
    std::memcpy(bytes.data(), &h, sizeof(h));
    return guest_.put(bytes);
  }

  Request parse(const std::vector<Buf>& bufs) {
    uint16_t head = ring_.add_chain(bufs);
    spans_.assign(16, virtio::HostSpan{nullptr, 0});
    walk_ = virtio::walk_request_chain(guest_.memory(), ring_.layout().desc, ring_.size(), head,
                                       true, spans_);
    EXPECT_EQ(walk_.status, virtio::ChainStatus::ok);
    return parse_request(spans_, walk_);
  }

  virtio::FakeGuest guest_;
  virtio::FakeRing ring_{guest_, 64};
  std::vector<virtio::HostSpan> spans_;
  virtio::RequestChainWalk walk_{};
};

TEST_F(BlkRequestTest, ReadAsLinuxLaysItOut) {
  uint64_t data = guest_.alloc(1024), status = guest_.alloc(1);
  Request r = parse({{header(virtio::kBlkTIn, 77), 16}, {data, 1024, true}, {status, 1, true}});
  ASSERT_EQ(r.fault, RequestFault::none);
  EXPECT_EQ(r.type, virtio::kBlkTIn);
  EXPECT_EQ(r.sector, 77u);
  ASSERT_EQ(r.span_count, 1u);
  EXPECT_EQ(spans_[r.first_span].data, guest_.host(data));
  EXPECT_EQ(spans_[r.first_span].len, 1024u);
  EXPECT_EQ(r.data_bytes, 1024u);
  EXPECT_EQ(r.status, guest_.host(status));
}

TEST_F(BlkRequestTest, WriteWithHeaderAndDataInOneDescriptor) {
  uint64_t hdr = header(virtio::kBlkTOut, 8, 512), status = guest_.alloc(1);
  Request r = parse({{hdr, 16 + 512}, {status, 1, true}});
  ASSERT_EQ(r.fault, RequestFault::none);
  ASSERT_EQ(r.span_count, 1u);
  EXPECT_EQ(spans_[r.first_span].data, guest_.host(hdr + 16));
  EXPECT_EQ(r.data_bytes, 512u);
}

TEST_F(BlkRequestTest, HeaderSplitOverDescriptorsAndStatusSharingTheDataBuffer) {
  virtio::BlkRequestHeader h{virtio::kBlkTIn, 0, 123456789};
  std::vector<uint8_t> bytes(sizeof(h));
  std::memcpy(bytes.data(), &h, sizeof(h));
  uint64_t first = guest_.put({bytes.begin(), bytes.begin() + 5});
  uint64_t second = guest_.put({bytes.begin() + 5, bytes.end()});
  uint64_t data_and_status = guest_.alloc(513);
  Request r = parse({{first, 5}, {second, 11}, {data_and_status, 513, true}});
  ASSERT_EQ(r.fault, RequestFault::none);
  EXPECT_EQ(r.sector, 123456789u);
  ASSERT_EQ(r.span_count, 1u);
  EXPECT_EQ(spans_[r.first_span].len, 512u);
  EXPECT_EQ(r.status, guest_.host(data_and_status + 512));
}

TEST_F(BlkRequestTest, FlushCarriesNoData) {
  Request r = parse({{header(virtio::kBlkTFlush, 0), 16}, {guest_.alloc(1), 1, true}});
  EXPECT_EQ(r.fault, RequestFault::none);
  EXPECT_EQ(r.span_count, 0u);
  EXPECT_EQ(r.data_bytes, 0u);
}

TEST_F(BlkRequestTest, DiscardRangesAreReadable) {
  uint64_t ranges = guest_.alloc(32);
  Request r =
      parse({{header(virtio::kBlkTDiscard, 0), 16}, {ranges, 32}, {guest_.alloc(1), 1, true}});
  ASSERT_EQ(r.fault, RequestFault::none);
  EXPECT_EQ(r.data_bytes, 32u);
  EXPECT_EQ(spans_[r.first_span].data, guest_.host(ranges));
}

TEST_F(BlkRequestTest, NoWritableByteMeansNoStatus) {
  Request r = parse({{header(virtio::kBlkTOut, 0), 16}, {guest_.alloc(512), 512}});
  EXPECT_EQ(r.fault, RequestFault::no_status);
  EXPECT_EQ(r.status, nullptr);
}

TEST_F(BlkRequestTest, ShortHeaderStillGetsAStatus) {
  uint64_t status = guest_.alloc(1);
  Request r = parse({{header(virtio::kBlkTIn, 0), 8}, {status, 1, true}});
  EXPECT_EQ(r.fault, RequestFault::no_header);
  EXPECT_EQ(r.status, guest_.host(status));
}

TEST_F(BlkRequestTest, DataOnTheWrongSide) {
  // A read whose header descriptor runs on into readable bytes.
  EXPECT_EQ(parse({{header(virtio::kBlkTIn, 0, 512), 16 + 512}, {guest_.alloc(1), 1, true}}).fault,
            RequestFault::wrong_direction);
  // A write handing the device writable data.
  EXPECT_EQ(parse({{header(virtio::kBlkTOut, 0), 16}, {guest_.alloc(513), 513, true}}).fault,
            RequestFault::wrong_direction);
  // A flush with data either way.
  EXPECT_EQ(parse({{header(virtio::kBlkTFlush, 0), 16}, {guest_.alloc(2), 2, true}}).fault,
            RequestFault::wrong_direction);
}

TEST_F(BlkRequestTest, LengthsMustBeWholeSectorsOrRanges) {
  EXPECT_EQ(parse({{header(virtio::kBlkTIn, 0), 16}, {guest_.alloc(101), 101, true}}).fault,
            RequestFault::bad_length);
  EXPECT_EQ(parse({{header(virtio::kBlkTOut, 0, 100), 116}, {guest_.alloc(1), 1, true}}).fault,
            RequestFault::bad_length);
  EXPECT_EQ(parse({{header(virtio::kBlkTDiscard, 0, 8), 24}, {guest_.alloc(1), 1, true}}).fault,
            RequestFault::bad_length);
  EXPECT_EQ(parse({{header(virtio::kBlkTWriteZeroes, 0), 16}, {guest_.alloc(1), 1, true}}).fault,
            RequestFault::bad_length);
}

TEST_F(BlkRequestTest, UnknownTypeIsNotAFaultOfTheChain) {
  Request r = parse({{header(99, 0, 64), 80}, {guest_.alloc(9), 9, true}});
  EXPECT_EQ(r.fault, RequestFault::none);
  EXPECT_EQ(r.type, 99u);
  EXPECT_EQ(r.span_count, 0u);
  EXPECT_NE(r.status, nullptr);
}

TEST(WithinCapacity, EdgesAndHostileSectors) {
  EXPECT_TRUE(within_capacity(0, 512, 1));
  EXPECT_FALSE(within_capacity(0, 1024, 1));
  EXPECT_TRUE(within_capacity(9, 512, 10));
  EXPECT_FALSE(within_capacity(10, 512, 10));
  EXPECT_TRUE(within_capacity(10, 0, 10));
  EXPECT_FALSE(within_capacity(11, 0, 10));
  EXPECT_FALSE(within_capacity(std::numeric_limits<uint64_t>::max(), 512, 10));
  // sector + length would wrap around 2^64.
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  EXPECT_FALSE(within_capacity(kMax - 1, 1024, kMax));
  EXPECT_TRUE(within_capacity(kMax - 2, 1024, kMax));
  EXPECT_TRUE(within_capacity(0, 100, 1)) << "a partial sector still needs its sector";
}

}  // namespace
}  // namespace ringlane::blk
