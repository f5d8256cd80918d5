// enqueue_burst: packets into a guest's RX queue. Buffer accounting (one chain per packet, or
// mergeable buffers), drops for each reason, and offloads finished in software for receivers
// that did not negotiate them, checked against an independent checksum.
#include <gtest/gtest.h>

#include <cstring>
#include <deque>
#include <numeric>
#include <vector>

#include "fake_guest.h"
#include "ringlane/net/rx.h"

namespace ringlane::net {
namespace {

using virtio::bit;

uint16_t be16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
void put_be16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

// RFC 1071 over big-endian words; deliberately not the library's implementation.
uint32_t reference_sum(const uint8_t* p, size_t len, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < len; i += 2) sum += be16(p + i);
  if (len % 2) sum += uint32_t{p[len - 1]} << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}

std::vector<uint8_t> frame(size_t len, uint8_t seed) {
  std::vector<uint8_t> out(len);
  for (size_t i = 0; i < len; ++i) out[i] = static_cast<uint8_t>(seed * 31 + i * 7);
  return out;
}

constexpr uint32_t kL3 = 14;
constexpr uint32_t kL4 = 34;

// Ethernet + IPv4 + TCP with the checksum field holding the pseudo-header sum, as a driver
// using VIRTIO_NET_F_CSUM leaves it.
std::vector<uint8_t> tcp_frame_needing_csum(uint32_t payload) {
  std::vector<uint8_t> f = frame(kL4 + 20 + payload, 3);
  uint8_t* b = f.data();
  std::memcpy(b, "\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00", 14);
  uint8_t* ip = b + kL3;
  std::memset(ip, 0, 20);
  ip[0] = 0x45;
  put_be16(ip + 2, static_cast<uint16_t>(20 + 20 + payload));
  ip[8] = 64;
  ip[9] = 6;
  std::memcpy(ip + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
  put_be16(ip + 10, static_cast<uint16_t>(~reference_sum(ip, 20)));
  uint8_t* tcp = b + kL4;
  std::memcpy(tcp, "\x30\x39\x00\x50\x00\x00\x00\x01\x00\x00\x00\x00\x50\x18\xff\xff", 16);
  put_be16(tcp + 18, 0);
  uint32_t pseudo = reference_sum(ip + 12, 8, 6 + 20 + payload);
  put_be16(tcp + 16, static_cast<uint16_t>(pseudo));  // folded, not inverted
  return f;
}

// The checksum a TCP/IPv4 frame must carry, computed from scratch.
uint16_t expected_tcp_checksum(std::vector<uint8_t> f) {
  uint32_t tcp_len = static_cast<uint32_t>(f.size()) - kL4;
  put_be16(f.data() + kL4 + 16, 0);
  uint32_t sum = reference_sum(f.data() + kL3 + 12, 8, 6 + tcp_len);
  return static_cast<uint16_t>(~reference_sum(f.data() + kL4, tcp_len, sum));
}

virtio::NetHeader read_header(const virtio::FakeGuest& guest, uint64_t gpa) {
  virtio::NetHeader h{};
  guest.read(gpa, &h, sizeof(h));
  return h;
}

// Packets a source guest sent: bytes owned here, views in a PacketBatch as dequeue_burst makes.
class Source {
 public:
  // `cuts` splits the frame into spans at those offsets.
  void add(std::vector<uint8_t> bytes, const virtio::NetHeader& hdr = {},
           const std::vector<uint32_t>& cuts = {}) {
    frames_.push_back(std::move(bytes));
    std::vector<uint8_t>& f = frames_.back();
    PacketView& p = batch_.packets[batch_.count++];
    p.first_span = batch_.spans_used;
    p.head = 0;
    p.len = static_cast<uint32_t>(f.size());
    p.hdr = hdr;
    uint32_t start = 0;
    for (uint32_t cut : cuts) {
      batch_.spans[batch_.spans_used++] = virtio::HostSpan{f.data() + start, cut - start};
      start = cut;
    }
    batch_.spans[batch_.spans_used++] = virtio::HostSpan{f.data() + start, f.size() - start};
    p.span_count = static_cast<uint16_t>(batch_.spans_used - p.first_span);
  }
  const PacketBatch& batch() const { return batch_; }
  std::vector<uint16_t> all() const {
    std::vector<uint16_t> which(batch_.count);
    std::iota(which.begin(), which.end(), uint16_t{0});
    return which;
  }

 private:
  std::deque<std::vector<uint8_t>> frames_;  // stable addresses for the spans
  PacketBatch batch_;
};

class NetRxTest : public ::testing::Test {
 protected:
  void SetUp() override { queue_.configure(&guest_.memory(), ring_.layout(), false, true, 0); }

  // Offers one writable buffer of `len` bytes; returns its guest address.
  uint64_t offer(uint32_t len) {
    uint64_t gpa = guest_.alloc(len);
    ring_.publish(ring_.add_chain({{gpa, len, true}}));
    return gpa;
  }

  uint16_t enqueue(const NetFeatures& features) {
    std::vector<uint16_t> which = source_.all();
    return enqueue_burst(queue_, features, source_.batch(), which);
  }

  virtio::FakeGuest guest_;
  virtio::FakeRing ring_{guest_, 64};
  virtio::SplitQueue queue_;
  Source source_;
};

TEST_F(NetRxTest, NonMergeableUsesOneChainPerPacket) {
  NetFeatures features = NetFeatures::from_bits(bit(virtio::kFVersion1));
  ASSERT_EQ(features.hdr_len, 12);
  uint64_t a = offer(2048), b = offer(2048);
  source_.add(frame(100, 1));
  source_.add(frame(1500, 2), {}, {14, 1001});
  ASSERT_EQ(enqueue(features), 2);
  ASSERT_EQ(ring_.used_idx(), 2);
  EXPECT_EQ(ring_.used(0).id, 0u);
  EXPECT_EQ(ring_.used(0).len, 112u);
  EXPECT_EQ(ring_.used(1).id, 1u);
  EXPECT_EQ(ring_.used(1).len, 1512u);
  for (auto [gpa, len, seed] : {std::tuple{a, 100u, 1}, std::tuple{b, 1500u, 2}}) {
    virtio::NetHeader h = read_header(guest_, gpa);
    // Spec: without MRG_RXBUF the device MUST set num_buffers to 1.
    EXPECT_EQ(h.num_buffers, 1);
    EXPECT_EQ(h.flags, 0);
    EXPECT_EQ(h.gso_type, virtio::kNetHdrGsoNone);
    EXPECT_EQ(guest_.read(gpa + 12, len), frame(len, static_cast<uint8_t>(seed)));
  }
  EXPECT_EQ(queue_.stats().packets.get(), 2u);
  EXPECT_EQ(queue_.stats().bytes.get(), 1600u);
  EXPECT_EQ(queue_.last_avail_idx(), 2);
}

TEST_F(NetRxTest, ReceiveChainOfZeroLengthBuffersHoldsNothing) {
  // Such a chain walks without error but yields no span: nothing may be written through it
  // (the fuzzers found the direct path reading a span that was never filled in).
  NetFeatures features = NetFeatures::from_bits(bit(virtio::kFVersion1));
  uint16_t empty = ring_.add_chain({{guest_.alloc(64), 0, true}, {guest_.alloc(64), 0, true}});
  ring_.publish(empty);
  source_.add(frame(60, 7));
  EXPECT_EQ(enqueue(features), 0);
  EXPECT_EQ(queue_.stats().drop_too_large.get(), 1u);
  EXPECT_EQ(ring_.used_idx(), 0);
  EXPECT_FALSE(queue_.broken());
  // With mergeable buffers the empty head is taken and the frame goes to the next one.
  NetFeatures mergeable =
      NetFeatures::from_bits(bit(virtio::kFVersion1) | bit(virtio::kNetFMrgRxbuf));
  uint64_t next = offer(2048);
  EXPECT_EQ(enqueue(mergeable), 1);
  ASSERT_EQ(ring_.used_idx(), 2);
  EXPECT_EQ(ring_.used(0).id, empty);
  EXPECT_EQ(ring_.used(0).len, 0u);
  EXPECT_EQ(ring_.used(1).len, 72u);
  EXPECT_EQ(read_header(guest_, next).num_buffers, 2);
  EXPECT_EQ(guest_.read(next + 12, 60), frame(60, 7));
}

TEST_F(NetRxTest, LegacyHeaderIsTenBytes) {
  NetFeatures features = NetFeatures::from_bits(0);
  ASSERT_EQ(features.hdr_len, 10);
  uint64_t a = offer(2048);
  source_.add(frame(60, 4));
  ASSERT_EQ(enqueue(features), 1);
  EXPECT_EQ(ring_.used(0).len, 70u);
  EXPECT_EQ(guest_.read(a + 10, 60), frame(60, 4));
}

TEST_F(NetRxTest, MergeableSpreadsAJumboFrameOverFiveBuffers) {
  NetFeatures features =
      NetFeatures::from_bits(bit(virtio::kFVersion1) | bit(virtio::kNetFMrgRxbuf));
  ASSERT_TRUE(features.mrg_rxbuf);
  std::vector<uint64_t> buffers;
  for (int i = 0; i < 8; ++i) buffers.push_back(offer(2048));
  std::vector<uint8_t> jumbo = frame(9000, 5);
  source_.add(jumbo, {}, {3000, 6001});
  ASSERT_EQ(enqueue(features), 1);
  ASSERT_EQ(ring_.used_idx(), 5);
  EXPECT_EQ(read_header(guest_, buffers[0]).num_buffers, 5);
  uint32_t total = 0;
  std::vector<uint8_t> received;
  for (uint16_t i = 0; i < 5; ++i) {
    virtio::VringUsedElem e = ring_.used(i);
    EXPECT_EQ(e.id, i);
    EXPECT_LE(e.len, 2048u);
    total += e.len;
    auto part = guest_.read(buffers[i], e.len);
    received.insert(received.end(), part.begin(), part.end());
  }
  EXPECT_EQ(total, 12u + 9000u);
  ASSERT_EQ(received.size(), 9012u);
  EXPECT_TRUE(std::equal(jumbo.begin(), jumbo.end(), received.begin() + 12));
  EXPECT_EQ(queue_.last_avail_idx(), 5);  // the other three stay offered
}

TEST_F(NetRxTest, MergeableFrameThatFitsOneBufferSaysSo) {
  NetFeatures features = NetFeatures::from_bits(bit(virtio::kNetFMrgRxbuf));
  uint64_t a = offer(2048);
  offer(2048);
  source_.add(frame(500, 6));
  ASSERT_EQ(enqueue(features), 1);
  EXPECT_EQ(read_header(guest_, a).num_buffers, 1);
  EXPECT_EQ(ring_.used_idx(), 1);
}

TEST_F(NetRxTest, NoBuffersDropsAndLeavesTheUsedRingAlone) {
  NetFeatures features = NetFeatures::from_bits(bit(virtio::kFVersion1));
  source_.add(frame(100, 1));
  source_.add(frame(100, 2));
  EXPECT_EQ(enqueue(features), 0);
  EXPECT_EQ(queue_.stats().drop_no_buffers.get(), 2u);
  EXPECT_EQ(ring_.used_idx(), 0);
  EXPECT_FALSE(queue_.broken());
}

TEST_F(NetRxTest, BuffersForOnlySomePackets) {
  NetFeatures features = NetFeatures::from_bits(bit(virtio::kFVersion1));
  offer(2048);
  for (uint8_t i = 0; i < 3; ++i) source_.add(frame(100, i));
  EXPECT_EQ(enqueue(features), 1);
  EXPECT_EQ(queue_.stats().drop_no_buffers.get(), 2u);
  EXPECT_EQ(ring_.used_idx(), 1);
}

TEST_F(NetRxTest, MergeableFrameWithTooFewBuffersConsumesNothing) {
  NetFeatures features =
      NetFeatures::from_bits(bit(virtio::kFVersion1) | bit(virtio::kNetFMrgRxbuf));
  offer(2048);
  offer(2048);
  source_.add(frame(9000, 1));
  EXPECT_EQ(enqueue(features), 0);
  EXPECT_EQ(queue_.stats().drop_no_buffers.get(), 1u);
  EXPECT_EQ(ring_.used_idx(), 0);
  EXPECT_EQ(queue_.last_avail_idx(), 0);
}

TEST_F(NetRxTest, TooLargeForANonMergeableBuffer) {
  NetFeatures features = NetFeatures::from_bits(bit(virtio::kFVersion1));
  uint64_t a = offer(1024);
  source_.add(frame(1500, 1));
  source_.add(frame(100, 2));  // still fits the buffer the first one could not use
  EXPECT_EQ(enqueue(features), 1);
  EXPECT_EQ(queue_.stats().drop_too_large.get(), 1u);
  ASSERT_EQ(ring_.used_idx(), 1);
  EXPECT_EQ(ring_.used(0).len, 112u);
  EXPECT_EQ(guest_.read(a + 12, 100), frame(100, 2));
}

TEST_F(NetRxTest, ReadOnlyDescriptorBreaksTheQueue) {
  NetFeatures features = NetFeatures::from_bits(bit(virtio::kFVersion1));
  uint64_t gpa = guest_.alloc(2048);
  ring_.publish(ring_.add_chain({{gpa, 2048, false}}));
  source_.add(frame(100, 1));
  source_.add(frame(100, 2));
  EXPECT_EQ(enqueue(features), 0);
  EXPECT_TRUE(queue_.broken());
  EXPECT_EQ(queue_.stats().ring_errors.get(), 1u);
  EXPECT_EQ(queue_.stats().drop_queue_down.get(), 2u);
  EXPECT_EQ(ring_.used_idx(), 0);
}

TEST_F(NetRxTest, ChainOfSeveralWritableDescriptors) {
  NetFeatures features = NetFeatures::from_bits(bit(virtio::kFVersion1));
  uint64_t hdr = guest_.alloc(12), data = guest_.alloc(1000);
  ring_.publish(ring_.add_chain({{hdr, 12, true}, {data, 1000, true}}));
  source_.add(frame(700, 8));
  ASSERT_EQ(enqueue(features), 1);
  EXPECT_EQ(ring_.used(0).len, 712u);
  EXPECT_EQ(read_header(guest_, hdr).num_buffers, 1);
  EXPECT_EQ(guest_.read(data, 700), frame(700, 8));
}

virtio::NetHeader partial_csum_header() {
  virtio::NetHeader h{};
  h.flags = virtio::kNetHdrFNeedsCsum;
  h.csum_start = kL4;
  h.csum_offset = 16;
  return h;
}

TEST_F(NetRxTest, PartialChecksumIsFinishedForAReceiverWithoutGuestCsum) {
  NetFeatures features = NetFeatures::from_bits(bit(virtio::kFVersion1));
  ASSERT_FALSE(features.guest_csum);
  std::vector<uint8_t> sent = tcp_frame_needing_csum(101);  // odd length on purpose
  uint16_t expected = expected_tcp_checksum(sent);
  uint64_t a = offer(2048);
  // Span boundaries at odd offsets inside the summed range.
  source_.add(sent, partial_csum_header(), {7, 41, 77});
  ASSERT_EQ(enqueue(features), 1);
  EXPECT_EQ(ring_.used(0).len, 12u + sent.size());
  virtio::NetHeader h = read_header(guest_, a);
  EXPECT_EQ(h.flags & virtio::kNetHdrFNeedsCsum, 0);
  std::vector<uint8_t> got = guest_.read(a + 12, sent.size());
  EXPECT_EQ(be16(got.data() + kL4 + 16), expected);
  // The whole segment, pseudo-header included, now sums to all ones.
  uint32_t tcp_len = static_cast<uint32_t>(got.size()) - kL4;
  uint32_t pseudo = reference_sum(got.data() + kL3 + 12, 8, 6 + tcp_len);
  EXPECT_EQ(reference_sum(got.data() + kL4, tcp_len, pseudo), 0xffffu);
  // Nothing but the checksum field changed.
  put_be16(got.data() + kL4 + 16, be16(sent.data() + kL4 + 16));
  EXPECT_EQ(got, sent);
}

TEST_F(NetRxTest, PartialChecksumPassesThroughToAReceiverWithGuestCsum) {
  NetFeatures features =
      NetFeatures::from_bits(bit(virtio::kFVersion1) | bit(virtio::kNetFGuestCsum));
  ASSERT_TRUE(features.guest_csum);
  std::vector<uint8_t> sent = tcp_frame_needing_csum(200);
  uint64_t a = offer(2048);
  source_.add(sent, partial_csum_header(), {40});
  ASSERT_EQ(enqueue(features), 1);
  virtio::NetHeader h = read_header(guest_, a);
  EXPECT_EQ(h.flags, virtio::kNetHdrFNeedsCsum);
  EXPECT_EQ(h.csum_start, kL4);
  EXPECT_EQ(h.csum_offset, 16);
  EXPECT_EQ(h.num_buffers, 1);
  EXPECT_EQ(guest_.read(a + 12, sent.size()), sent);
}

virtio::NetHeader tso_header(uint16_t mss) {
  virtio::NetHeader h = partial_csum_header();
  h.gso_type = virtio::kNetHdrGsoTcpv4;
  h.gso_size = mss;
  h.hdr_len = kL4 + 20;
  return h;
}

TEST_F(NetRxTest, GsoFrameIsSegmentedForAReceiverWithoutTso) {
  NetFeatures features = NetFeatures::from_bits(bit(virtio::kFVersion1));
  std::vector<uint64_t> buffers;
  for (int i = 0; i < 4; ++i) buffers.push_back(offer(2048));
  source_.add(tcp_frame_needing_csum(3000), tso_header(1000));
  ASSERT_EQ(enqueue(features), 1);
  ASSERT_EQ(ring_.used_idx(), 3);
  for (uint16_t i = 0; i < 3; ++i) {
    EXPECT_EQ(ring_.used(i).len, 12u + kL4 + 20 + 1000);
    virtio::NetHeader h = read_header(guest_, buffers[i]);
    EXPECT_EQ(h.gso_type, virtio::kNetHdrGsoNone);
    EXPECT_EQ(h.flags & virtio::kNetHdrFNeedsCsum, 0);
    std::vector<uint8_t> seg = guest_.read(buffers[i] + 12, kL4 + 20 + 1000);
    EXPECT_EQ(be16(seg.data() + kL4 + 16), expected_tcp_checksum(seg)) << "segment " << i;
  }
  EXPECT_EQ(queue_.stats().packets.get(), 3u);
}

TEST_F(NetRxTest, GsoFramePassesThroughToAReceiverWithTso) {
  NetFeatures features = NetFeatures::from_bits(
      bit(virtio::kNetFMrgRxbuf) | bit(virtio::kNetFGuestCsum) | bit(virtio::kNetFGuestTso4));
  ASSERT_TRUE(features.guest_tso4);
  std::vector<uint64_t> buffers;
  for (int i = 0; i < 4; ++i) buffers.push_back(offer(2048));
  std::vector<uint8_t> sent = tcp_frame_needing_csum(3000);
  source_.add(sent, tso_header(1000));
  ASSERT_EQ(enqueue(features), 1);
  virtio::NetHeader h = read_header(guest_, buffers[0]);
  EXPECT_EQ(h.gso_type, virtio::kNetHdrGsoTcpv4);
  EXPECT_EQ(h.gso_size, 1000);
  EXPECT_EQ(h.hdr_len, kL4 + 20);
  EXPECT_EQ(h.num_buffers, 2);
  EXPECT_EQ(ring_.used_idx(), 2);
}

}  // namespace
}  // namespace ringlane::net
