// Software TSO: segments of a GSO frame must be valid frames on their own (lengths, IDs,
// sequence numbers, flags, IP and TCP checksums checked here by an independent implementation)
// and their payloads must concatenate to the original payload.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "ringlane/net/segmentation.h"

namespace ringlane::net {
namespace {

uint16_t be16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
uint32_t be32(const uint8_t* p) {
  return uint32_t{be16(p)} << 16 | be16(p + 2);
}

// RFC 1071 over big-endian words, written independently of the library's code.
uint16_t reference_checksum(const std::vector<uint8_t>& bytes, uint32_t initial = 0) {
  uint64_t sum = initial;
  for (size_t i = 0; i + 1 < bytes.size(); i += 2) sum += be16(&bytes[i]);
  if (bytes.size() % 2) sum += uint32_t{bytes.back()} << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

std::vector<uint8_t> flatten(const Segment& s) {
  std::vector<uint8_t> out;
  for (uint32_t i = 0; i < s.span_count; ++i) {
    out.insert(out.end(), s.spans[i].data, s.spans[i].data + s.spans[i].len);
  }
  return out;
}

struct GsoFrame {
  std::vector<uint8_t> bytes;
  uint32_t l3 = 14, l4 = 0, payload_offset = 0;
  virtio::NetHeader hdr{};
};

GsoFrame make_tcp_frame(bool ipv6, uint32_t payload, uint16_t mss, uint8_t tcp_flags) {
  GsoFrame f;
  f.l4 = f.l3 + (ipv6 ? 40 : 20);
  f.payload_offset = f.l4 + 20;
  f.bytes.assign(f.payload_offset + payload, 0);
  uint8_t* b = f.bytes.data();
  std::memcpy(b, "\x02\0\0\0\0\x02\x02\0\0\0\0\x01", 12);
  if (ipv6) {
    b[12] = 0x86, b[13] = 0xdd;
    b[14] = 0x60;
    b[14 + 6] = 6;   // next header TCP
    b[14 + 7] = 64;  // hop limit
    for (int i = 0; i < 32; ++i) b[14 + 8 + i] = static_cast<uint8_t>(0x20 + i);
  } else {
    b[12] = 0x08, b[13] = 0x00;
    b[14] = 0x45;
    b[14 + 4] = 0x12, b[14 + 5] = 0x34;  // IP ID
    b[14 + 8] = 64, b[14 + 9] = 6;
    std::memcpy(b + 14 + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
  }
  uint8_t* t = b + f.l4;
  t[0] = 0x30, t[1] = 0x39, t[2] = 0x00, t[3] = 0x50;  // ports
  t[4] = 0x10, t[5] = 0x20, t[6] = 0x30, t[7] = 0x40;  // seq
  t[12] = 5 << 4;
  t[13] = tcp_flags;
  std::mt19937 rng(7);
  for (uint32_t i = f.payload_offset; i < f.bytes.size(); ++i) b[i] = static_cast<uint8_t>(rng());
  f.hdr.flags = virtio::kNetHdrFNeedsCsum;
  f.hdr.gso_type = ipv6 ? virtio::kNetHdrGsoTcpv6 : virtio::kNetHdrGsoTcpv4;
  f.hdr.gso_size = mss;
  f.hdr.csum_start = static_cast<uint16_t>(f.l4);
  f.hdr.csum_offset = 16;
  return f;
}

// Splits the frame into spans at awkward places (odd offsets, mid-header).
std::vector<virtio::HostSpan> scatter(std::vector<uint8_t>& bytes) {
  std::vector<virtio::HostSpan> spans;
  std::vector<uint32_t> cuts = {7, 33, 61, 1001, 2999, 5003};
  uint32_t start = 0;
  for (uint32_t c : cuts) {
    if (c >= bytes.size()) break;
    spans.push_back({bytes.data() + start, c - start});
    start = c;
  }
  spans.push_back({bytes.data() + start, bytes.size() - start});
  return spans;
}

void check_segments(bool ipv6) {
  const uint32_t payload = 9000 - 54;
  const uint16_t mss = 1448;
  GsoFrame f = make_tcp_frame(ipv6, payload, mss, /*PSH|ACK|FIN|CWR*/ 0x08 | 0x10 | 0x01 | 0x80);
  auto spans = scatter(f.bytes);
  TcpSegmenter seg;
  ASSERT_TRUE(seg.start(spans.data(), static_cast<uint32_t>(spans.size()),
                        static_cast<uint32_t>(f.bytes.size()), f.hdr));
  uint32_t expected = (payload + mss - 1) / mss;
  EXPECT_EQ(seg.segment_count(), expected);
  std::vector<uint8_t> rebuilt;
  Segment s;
  uint32_t n = 0;
  while (seg.next(s)) {
    std::vector<uint8_t> frame = flatten(s);
    ASSERT_EQ(frame.size(), s.len);
    uint32_t seg_payload = static_cast<uint32_t>(frame.size()) - f.payload_offset;
    EXPECT_EQ(seg_payload, n + 1 < expected ? mss : payload - mss * (expected - 1));
    const uint8_t* ip = frame.data() + f.l3;
    const uint8_t* tcp = frame.data() + f.l4;
    uint32_t pseudo = 0;
    if (!ipv6) {
      EXPECT_EQ(be16(ip + 2), frame.size() - f.l3);
      EXPECT_EQ(be16(ip + 4), 0x1234 + n);
      std::vector<uint8_t> iph(ip, ip + 20);
      EXPECT_EQ(reference_checksum(iph), 0) << "IPv4 header checksum of segment " << n;
      for (int i = 0; i < 8; i += 2) pseudo += be16(ip + 12 + i);
    } else {
      EXPECT_EQ(be16(ip + 4), frame.size() - f.l4);
      for (int i = 0; i < 32; i += 2) pseudo += be16(ip + 8 + i);
    }
    pseudo += 6 + static_cast<uint32_t>(frame.size() - f.l4);
    std::vector<uint8_t> l4(frame.begin() + f.l4, frame.end());
    EXPECT_EQ(reference_checksum(l4, pseudo), 0) << "TCP checksum of segment " << n;
    EXPECT_EQ(be32(tcp + 4), 0x10203040u + n * mss);
    uint8_t flags = tcp[13];
    bool last = n + 1 == expected;
    EXPECT_EQ((flags & 0x01) != 0, last) << "FIN only on the last segment";
    EXPECT_EQ((flags & 0x08) != 0, last) << "PSH only on the last segment";
    EXPECT_EQ((flags & 0x80) != 0, n == 0) << "CWR only on the first segment";
    EXPECT_NE(flags & 0x10, 0) << "ACK on every segment";
    rebuilt.insert(rebuilt.end(), frame.begin() + f.payload_offset, frame.end());
    ++n;
  }
  EXPECT_EQ(n, expected);
  EXPECT_TRUE(std::equal(rebuilt.begin(), rebuilt.end(), f.bytes.begin() + f.payload_offset,
                         f.bytes.end()));
  EXPECT_EQ(rebuilt.size(), payload);
}

TEST(TcpSegmenter, SplitsIpv4FrameIntoValidSegments) {
  check_segments(false);
}
TEST(TcpSegmenter, SplitsIpv6FrameIntoValidSegments) {
  check_segments(true);
}

TEST(TcpSegmenter, RefusesNonTcpFrames) {
  GsoFrame f = make_tcp_frame(false, 3000, 1000, 0x10);
  f.bytes[14 + 9] = 17;  // UDP
  virtio::HostSpan span{f.bytes.data(), f.bytes.size()};
  TcpSegmenter seg;
  EXPECT_FALSE(seg.start(&span, 1, static_cast<uint32_t>(f.bytes.size()), f.hdr));
}

TEST(TcpSegmenter, RefusesTinySegmentSizeThatWouldExplode) {
  GsoFrame f = make_tcp_frame(false, 60000, 1, 0x10);
  virtio::HostSpan span{f.bytes.data(), f.bytes.size()};
  TcpSegmenter seg;
  EXPECT_FALSE(seg.start(&span, 1, static_cast<uint32_t>(f.bytes.size()), f.hdr));
}

TEST(TcpSegmenter, RefusesTruncatedHeaders) {
  GsoFrame f = make_tcp_frame(false, 100, 50, 0x10);
  virtio::HostSpan span{f.bytes.data(), 40};  // ends inside the TCP header
  TcpSegmenter seg;
  EXPECT_FALSE(seg.start(&span, 1, 40, f.hdr));
}

}  // namespace
}  // namespace ringlane::net
