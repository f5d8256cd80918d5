// dequeue_burst / complete_burst: packets out of a guest's TX queue. Header layouts a driver may
// choose, malformed headers (dropped, queue keeps running) and ring violations (queue broken,
// earlier packets of the burst still delivered).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "fake_guest.h"
#include "log_capture.h"
#include "ringlane/net/tx.h"

namespace ringlane::net {
namespace {

using virtio::bit;

std::vector<uint8_t> header_bytes(const virtio::NetHeader& h, size_t len = 12) {
  std::vector<uint8_t> out(len);
  std::memcpy(out.data(), &h, len);
  return out;
}

std::vector<uint8_t> frame(size_t len, uint8_t seed) {
  std::vector<uint8_t> out(len);
  for (size_t i = 0; i < len; ++i) out[i] = static_cast<uint8_t>(seed + i * 7);
  return out;
}

std::vector<uint8_t> concat(std::vector<uint8_t> a, const std::vector<uint8_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

class NetTxTest : public ::testing::Test {
 protected:
  explicit NetTxTest(uint16_t ring_size = 64) : ring_(guest_, ring_size) {
    queue_.configure(&guest_.memory(), ring_.layout(), false, true, 0);
  }

  // A packet as most drivers send it: header descriptor, then one data descriptor.
  uint16_t add_packet(const std::vector<uint8_t>& data, const virtio::NetHeader& hdr = {}) {
    uint16_t head = ring_.add_chain({{guest_.put(header_bytes(hdr)), 12},
                                     {guest_.put(data), static_cast<uint32_t>(data.size())}});
    ring_.publish(head);
    return head;
  }
  // Header and frame in one descriptor: one ring slot per packet.
  uint16_t add_packet_one_desc(const std::vector<uint8_t>& data) {
    auto bytes = concat(header_bytes({}), data);
    uint16_t head = ring_.add_chain({{guest_.put(bytes), static_cast<uint32_t>(bytes.size())}});
    ring_.publish(head);
    return head;
  }

  std::vector<uint8_t> packet_bytes(const PacketView& p) const {
    std::vector<uint8_t> out;
    const virtio::HostSpan* spans = batch_.spans_of(p);
    for (uint16_t i = 0; i < p.span_count; ++i) {
      out.insert(out.end(), spans[i].data, spans[i].data + spans[i].len);
    }
    return out;
  }

  virtio::FakeGuest guest_;
  virtio::FakeRing ring_;
  virtio::SplitQueue queue_;
  NetFeatures features_ = NetFeatures::from_bits(bit(virtio::kFVersion1) | bit(virtio::kNetFCsum));
  PacketBatch batch_;
};

TEST_F(NetTxTest, HeaderInItsOwnDescriptor) {
  auto data = frame(100, 1);
  uint16_t head = add_packet(data);
  ASSERT_EQ(dequeue_burst(queue_, features_, batch_), 1);
  ASSERT_EQ(batch_.count, 1);
  const PacketView& p = batch_.packets[0];
  EXPECT_EQ(p.head, head);
  EXPECT_EQ(p.len, 100u);
  EXPECT_EQ(p.span_count, 1);
  EXPECT_EQ(packet_bytes(p), data);
  EXPECT_EQ(p.hdr.flags, 0);
  EXPECT_EQ(queue_.stats().packets.get(), 1u);
  EXPECT_EQ(queue_.stats().bytes.get(), 100u);
  EXPECT_EQ(queue_.last_avail_idx(), 1);
  // Nothing goes back to the guest until the packet has been delivered.
  EXPECT_EQ(ring_.used_idx(), 0);
  complete_burst(queue_, batch_);
  ASSERT_EQ(ring_.used_idx(), 1);
  EXPECT_EQ(ring_.used(0).id, head);
  EXPECT_EQ(ring_.used(0).len, 0u);
  EXPECT_FALSE(queue_.broken());
}

TEST_F(NetTxTest, HeaderAndDataInOneDescriptor) {
  virtio::NetHeader hdr{};
  hdr.flags = virtio::kNetHdrFNeedsCsum;
  hdr.csum_start = 34;
  hdr.csum_offset = 16;
  auto data = frame(80, 9);
  auto bytes = concat(header_bytes(hdr), data);
  uint64_t gpa = guest_.put(bytes);
  uint16_t head = ring_.add_chain({{gpa, static_cast<uint32_t>(bytes.size())}});
  ring_.publish(head);
  ASSERT_EQ(dequeue_burst(queue_, features_, batch_), 1);
  const PacketView& p = batch_.packets[0];
  EXPECT_EQ(p.len, 80u);
  ASSERT_EQ(p.span_count, 1);
  EXPECT_EQ(batch_.spans_of(p)[0].data, guest_.host(gpa) + 12);
  EXPECT_EQ(packet_bytes(p), data);
  EXPECT_EQ(p.hdr.flags, virtio::kNetHdrFNeedsCsum);
  EXPECT_EQ(p.hdr.csum_start, 34);
  EXPECT_EQ(p.hdr.csum_offset, 16);
}

TEST_F(NetTxTest, WithoutChecksumOffloadTheHeaderIsIgnored) {
  // A driver that did not negotiate CSUM must not ask for offloads; whatever it writes in the
  // header is not read (one cache line less per frame) and cannot drop or change the frame.
  features_ = NetFeatures::from_bits(bit(virtio::kFVersion1));
  virtio::NetHeader junk{};
  junk.flags = virtio::kNetHdrFNeedsCsum;
  junk.gso_type = 2;  // not a GSO type: malformed if it were read
  junk.csum_start = 60000;
  auto data = frame(80, 4);
  uint16_t head = add_packet(data, junk);
  ASSERT_EQ(dequeue_burst(queue_, features_, batch_), 1);
  const PacketView& p = batch_.packets[0];
  EXPECT_EQ(p.head, head);
  EXPECT_EQ(packet_bytes(p), data);
  EXPECT_EQ(p.hdr.flags, 0);
  EXPECT_EQ(p.hdr.gso_type, 0);
  EXPECT_EQ(queue_.stats().drop_malformed.get(), 0u);
}

TEST_F(NetTxTest, HeaderSplitAcrossTwoDescriptors) {
  virtio::NetHeader hdr{};
  hdr.flags = virtio::kNetHdrFNeedsCsum;
  hdr.csum_start = 14;
  hdr.csum_offset = 6;
  auto h = header_bytes(hdr);
  auto data = frame(300, 3);
  // 5 header bytes alone, then the other 7 together with the first data bytes.
  std::vector<uint8_t> first(h.begin(), h.begin() + 5);
  std::vector<uint8_t> second(7 + 100);
  std::memcpy(second.data(), h.data() + 5, 7);
  std::memcpy(second.data() + 7, data.data(), 100);
  std::vector<uint8_t> third(data.begin() + 100, data.end());
  uint16_t head = ring_.add_chain({{guest_.put(first), 5},
                                   {guest_.put(second), static_cast<uint32_t>(second.size())},
                                   {guest_.put(third), static_cast<uint32_t>(third.size())}});
  ring_.publish(head);
  ASSERT_EQ(dequeue_burst(queue_, features_, batch_), 1);
  const PacketView& p = batch_.packets[0];
  EXPECT_EQ(p.len, 300u);
  EXPECT_EQ(p.span_count, 2);
  EXPECT_EQ(packet_bytes(p), data);
  EXPECT_EQ(p.hdr.flags, virtio::kNetHdrFNeedsCsum);
  EXPECT_EQ(p.hdr.csum_start, 14);
  EXPECT_EQ(p.hdr.csum_offset, 6);
}

TEST_F(NetTxTest, LegacyTenByteHeader) {
  NetFeatures legacy = NetFeatures::from_bits(0);
  ASSERT_EQ(legacy.hdr_len, 10);
  auto data = frame(64, 5);
  uint16_t head = ring_.add_chain({{guest_.put(header_bytes({}, 10)), 10},
                                   {guest_.put(data), static_cast<uint32_t>(data.size())}});
  ring_.publish(head);
  ASSERT_EQ(dequeue_burst(queue_, legacy, batch_), 1);
  EXPECT_EQ(packet_bytes(batch_.packets[0]), data);
}

TEST_F(NetTxTest, CompleteBurstReturnsEveryHeadInOrder) {
  std::vector<uint16_t> heads;
  for (uint8_t i = 0; i < 3; ++i) heads.push_back(add_packet(frame(60 + i, i)));
  ASSERT_EQ(dequeue_burst(queue_, features_, batch_), 3);
  for (uint16_t i = 0; i < 3; ++i)
    EXPECT_EQ(packet_bytes(batch_.packets[i]), frame(60 + i, static_cast<uint8_t>(i)));
  complete_burst(queue_, batch_);
  ASSERT_EQ(ring_.used_idx(), 3);
  for (uint16_t i = 0; i < 3; ++i) {
    EXPECT_EQ(ring_.used(i).id, heads[i]);
    EXPECT_EQ(ring_.used(i).len, 0u);
  }
  EXPECT_EQ(queue_.stats().bursts.get(), 1u);
}

TEST_F(NetTxTest, BurstIsLimitedAndTheRestFollows) {
  for (int i = 0; i < 40; ++i) add_packet_one_desc(frame(60, static_cast<uint8_t>(i)));
  ASSERT_EQ(dequeue_burst(queue_, features_, batch_), kBurstSize);
  complete_burst(queue_, batch_);
  batch_.clear();
  ASSERT_EQ(dequeue_burst(queue_, features_, batch_), 40 - kBurstSize);
  complete_burst(queue_, batch_);
  EXPECT_EQ(ring_.used_idx(), 40);
  EXPECT_EQ(queue_.last_avail_idx(), 40);
}

TEST_F(NetTxTest, CsumStartBeyondThePacketIsDroppedNotFatal) {
  virtio::NetHeader bad{};
  bad.flags = virtio::kNetHdrFNeedsCsum;
  bad.csum_start = 200;
  bad.csum_offset = 16;
  uint16_t head = add_packet(frame(100, 0), bad);
  EXPECT_EQ(dequeue_burst(queue_, features_, batch_), 0);
  EXPECT_EQ(queue_.stats().drop_malformed.get(), 1u);
  EXPECT_FALSE(queue_.broken());
  EXPECT_EQ(queue_.stats().ring_errors.get(), 0u);
  // Given back at once, with nothing written.
  ASSERT_EQ(ring_.used_idx(), 1);
  EXPECT_EQ(ring_.used(0).id, head);
  EXPECT_EQ(ring_.used(0).len, 0u);
  // The queue keeps working.
  uint16_t good = add_packet(frame(100, 1));
  ASSERT_EQ(dequeue_burst(queue_, features_, batch_), 1);
  EXPECT_EQ(batch_.packets[0].head, good);
}

TEST_F(NetTxTest, MalformedPacketAmongGoodOnesIsReturnedWithTheBurst) {
  virtio::NetHeader bad{};
  bad.flags = virtio::kNetHdrFNeedsCsum;
  bad.csum_start = 99;  // csum field would end at 99 + 0 + 2 > 100
  uint16_t bad_head = add_packet(frame(100, 0), bad);
  uint16_t good_head = add_packet(frame(100, 1));
  ASSERT_EQ(dequeue_burst(queue_, features_, batch_), 1);
  EXPECT_EQ(batch_.packets[0].head, good_head);
  complete_burst(queue_, batch_);
  ASSERT_EQ(ring_.used_idx(), 2);
  EXPECT_EQ(ring_.used(0).id, bad_head);
  EXPECT_EQ(ring_.used(1).id, good_head);
  EXPECT_EQ(queue_.stats().drop_malformed.get(), 1u);
}

TEST_F(NetTxTest, BuffersGoBackInRingOrderWithDropsInBetween) {
  // VIRTIO_F_IN_ORDER: a dropped chain must not overtake the good ones before it.
  virtio::NetHeader bad{};
  bad.gso_type = 2;  // not a GSO type
  uint16_t first = add_packet(frame(80, 1));
  uint16_t dropped = add_packet(frame(80, 0), bad);
  uint16_t last = add_packet(frame(80, 2));
  ASSERT_EQ(dequeue_burst(queue_, features_, batch_), 2);
  EXPECT_EQ(ring_.used_idx(), 0);  // nothing goes back before the burst completes
  EXPECT_EQ(batch_.packets[0].head, first);
  EXPECT_EQ(batch_.packets[1].head, last);
  complete_burst(queue_, batch_);
  ASSERT_EQ(ring_.used_idx(), 3);
  EXPECT_EQ(ring_.used(0).id, first);
  EXPECT_EQ(ring_.used(1).id, dropped);
  EXPECT_EQ(ring_.used(2).id, last);
}

TEST_F(NetTxTest, ChainShorterThanTheHeaderIsMalformed) {
  uint16_t head = ring_.add_chain({{guest_.put(frame(8, 0)), 8}});
  ring_.publish(head);
  EXPECT_EQ(dequeue_burst(queue_, features_, batch_), 0);
  EXPECT_EQ(queue_.stats().drop_malformed.get(), 1u);
  EXPECT_EQ(ring_.used_idx(), 1);
  EXPECT_FALSE(queue_.broken());
}

TEST_F(NetTxTest, SegmentationRequestWithoutSizeIsMalformed) {
  virtio::NetHeader gso{};
  gso.flags = virtio::kNetHdrFNeedsCsum;
  gso.gso_type = virtio::kNetHdrGsoTcpv4;
  gso.csum_start = 34;
  gso.csum_offset = 16;
  gso.gso_size = 0;
  add_packet(frame(200, 0), gso);
  virtio::NetHeader unknown{};
  unknown.gso_type = 2;  // not a GSO type
  add_packet(frame(200, 0), unknown);
  EXPECT_EQ(dequeue_burst(queue_, features_, batch_), 0);
  EXPECT_EQ(queue_.stats().drop_malformed.get(), 2u);
}

TEST_F(NetTxTest, AvailIndexJumpBreaksTheQueue) {
  add_packet(frame(60, 0));
  ring_.set_avail_idx(static_cast<uint16_t>(ring_.size() + 1));
  EXPECT_EQ(dequeue_burst(queue_, features_, batch_), 0);
  EXPECT_TRUE(queue_.broken());
  EXPECT_FALSE(queue_.serving());
  EXPECT_EQ(queue_.stats().ring_errors.get(), 1u);
  EXPECT_EQ(queue_.last_avail_idx(), 0);
  EXPECT_EQ(batch_.count, 0);
  EXPECT_EQ(ring_.used_idx(), 0);
}

TEST_F(NetTxTest, AvailIndexMovingByExactlyTheRingSizeIsFine) {
  for (uint16_t i = 0; i < ring_.size(); ++i) add_packet_one_desc(frame(60, 0));
  EXPECT_EQ(dequeue_burst(queue_, features_, batch_), kBurstSize);
  EXPECT_FALSE(queue_.broken());
}

TEST_F(NetTxTest, LoopBreaksTheQueueAfterTheGoodPacketsOfTheBurst) {
  uint16_t first = add_packet(frame(60, 1));
  uint16_t second = add_packet(frame(61, 2));
  uint16_t loop = ring_.reserve(2);
  uint64_t buf = guest_.put(frame(64, 0));
  ring_.set_desc(loop, buf, 64, virtio::kDescFNext, static_cast<uint16_t>(loop + 1));
  ring_.set_desc(static_cast<uint16_t>(loop + 1), buf, 64, virtio::kDescFNext, loop);
  ring_.publish(loop);
  add_packet(frame(62, 3));
  ASSERT_EQ(dequeue_burst(queue_, features_, batch_), 2);
  EXPECT_TRUE(queue_.broken());
  EXPECT_EQ(queue_.stats().ring_errors.get(), 1u);
  EXPECT_EQ(batch_.packets[0].head, first);
  EXPECT_EQ(batch_.packets[1].head, second);
  EXPECT_EQ(packet_bytes(batch_.packets[1]), frame(61, 2));
  EXPECT_EQ(queue_.last_avail_idx(), 2);
  complete_burst(queue_, batch_);
  ASSERT_EQ(ring_.used_idx(), 2);
  EXPECT_EQ(ring_.used(0).id, first);
  EXPECT_EQ(ring_.used(1).id, second);
}

class NetTxLongChainTest : public NetTxTest {
 protected:
  NetTxLongChainTest() : NetTxTest(128) {}
};

TEST_F(NetTxLongChainTest, TooManySegmentsDropsOnlyThatChain) {
  std::vector<virtio::Buf> bufs = {{guest_.put(header_bytes({})), 12}};
  for (uint32_t i = 0; i < kMaxPacketSpans + 1; ++i) bufs.push_back({guest_.put(frame(4, 0)), 4});
  uint16_t head = ring_.add_chain(bufs);
  ring_.publish(head);
  uint16_t good = add_packet(frame(60, 1));
  ASSERT_EQ(dequeue_burst(queue_, features_, batch_), 1);
  EXPECT_EQ(batch_.packets[0].head, good);
  EXPECT_EQ(queue_.stats().drop_chain.get(), 1u);
  EXPECT_FALSE(queue_.broken());
  complete_burst(queue_, batch_);
  ASSERT_EQ(ring_.used_idx(), 2);
  EXPECT_EQ(ring_.used(0).id, head);
  EXPECT_EQ(ring_.used(0).len, 0u);
  EXPECT_EQ(ring_.used(1).id, good);
}

TEST_F(NetTxLongChainTest, MostSegmentsWeAcceptStillWork) {
  std::vector<virtio::Buf> bufs = {{guest_.put(header_bytes({})), 12}};
  for (uint32_t i = 0; i < kMaxPacketSpans - 1; ++i) bufs.push_back({guest_.put(frame(4, 0)), 4});
  ring_.publish(ring_.add_chain(bufs));
  ASSERT_EQ(dequeue_burst(queue_, features_, batch_), 1);
  EXPECT_EQ(batch_.packets[0].len, 4 * (kMaxPacketSpans - 1));
  EXPECT_EQ(batch_.packets[0].span_count, kMaxPacketSpans - 1);
}

TEST(NetTxWrap, IndicesWrapAroundSixteenBits) {
  virtio::FakeGuest guest;
  virtio::FakeRing ring(guest, 8);
  ring.set_avail_idx(65534);
  ring.layout().used->idx = 65534;
  virtio::SplitQueue queue;
  queue.configure(&guest.memory(), ring.layout(), false, false, 65534);
  NetFeatures features = NetFeatures::from_bits(bit(virtio::kFVersion1));
  std::vector<uint16_t> heads;
  for (int i = 0; i < 3; ++i) {
    uint16_t head =
        ring.add_chain({{guest.put(header_bytes({})), 12}, {guest.put(frame(60, 0)), 60}});
    ring.publish(head);
    heads.push_back(head);
  }
  ASSERT_EQ(ring.avail_idx(), 1);
  PacketBatch batch;
  ASSERT_EQ(dequeue_burst(queue, features, batch), 3);
  complete_burst(queue, batch);
  EXPECT_EQ(queue.last_avail_idx(), 1);
  ASSERT_EQ(ring.used_idx(), 1);
  for (uint16_t i = 0; i < 3; ++i)
    EXPECT_EQ(ring.used(static_cast<uint16_t>(65534 + i)).id, heads[i]);
}

}  // namespace
}  // namespace ringlane::net
