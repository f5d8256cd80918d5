// write_wire_frames: what a packet becomes on a wire without offloads. Checksums are checked
// against an independent RFC 1071 sum; segments must carry the payload whole and in order.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "ringlane/net/wire_frame.h"

namespace ringlane::net {
namespace {

uint16_t be16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

uint32_t sum_be(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += be16(p + i);
  if (n % 2) sum += uint32_t{p[n - 1]} << 8;
  return sum;
}
uint16_t fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// Frames the sink was given, each in its own buffer of `size` bytes; `limit` buffers at most.
class VectorSink final : public FrameSink {
 public:
  explicit VectorSink(size_t size, size_t limit = 1000) : size_(size), limit_(limit) {}
  std::span<uint8_t> buffer() override {
    if (buffers_.size() == limit_) return {};
    buffers_.emplace_back(size_);
    return buffers_.back();
  }
  void commit(uint32_t len) override {
    buffers_.back().resize(len);
    frames.push_back(buffers_.back());
  }
  std::vector<std::vector<uint8_t>> frames;

 private:
  size_t size_, limit_;
  std::vector<std::vector<uint8_t>> buffers_;
};

struct OneFrame {
  std::vector<uint8_t> bytes;
  PacketBatch batch;
  // Puts the frame in the batch as one packet, cut into spans at `cuts`.
  void load(virtio::NetHeader hdr, std::vector<size_t> cuts = {}) {
    batch.clear();
    PacketView& p = batch.packets[0];
    p = {0, 0, 0, static_cast<uint32_t>(bytes.size()), hdr};
    size_t at = 0;
    cuts.push_back(bytes.size());
    for (size_t cut : cuts) {
      batch.spans[batch.spans_used++] = {bytes.data() + at, cut - at};
      ++p.span_count;
      at = cut;
    }
    batch.count = 1;
  }
};

// Ethernet + IPv4 (10.0.0.1 -> 10.0.0.2) + UDP or TCP header, then `payload` bytes.
std::vector<uint8_t> ipv4_frame(uint8_t proto, size_t payload) {
  size_t l4 = proto == 6 ? 20 : 8;
  std::vector<uint8_t> f(14 + 20 + l4 + payload, 0);
  f[12] = 0x08;
  f[14] = 0x45;
  size_t ip_len = 20 + l4 + payload;
  f[16] = static_cast<uint8_t>(ip_len >> 8), f[17] = static_cast<uint8_t>(ip_len);
  f[22] = 64, f[23] = proto;
  std::memcpy(&f[26], "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
  uint8_t* h = &f[34];
  h[0] = 0x12, h[1] = 0x34, h[2] = 0x00, h[3] = 0x50;
  if (proto == 6) {
    h[12] = 5 << 4;
    h[13] = 0x18;
  } else {
    h[4] = static_cast<uint8_t>((8 + payload) >> 8), h[5] = static_cast<uint8_t>(8 + payload);
  }
  for (size_t i = 0; i < payload; ++i) f[34 + l4 + i] = static_cast<uint8_t>(i * 7 + 3);
  return f;
}

// The pseudo-header sum a driver leaves in the checksum field, folded, not inverted.
uint16_t pseudo_sum(const std::vector<uint8_t>& f, uint8_t proto, size_t l4_len) {
  uint32_t sum = sum_be(&f[26], 8) + proto + static_cast<uint32_t>(l4_len);
  return fold(sum);
}

TEST(WireFrame, PlainFrameIsCopiedAsItIs) {
  OneFrame f;
  f.bytes = ipv4_frame(17, 100);
  f.load({}, {3, 20, 21});
  EXPECT_FALSE(needs_wire_offload(f.batch.packets[0]));
  std::vector<uint8_t> out(2048);
  ASSERT_EQ(copy_plain_frame(f.batch, f.batch.packets[0], out), f.bytes.size());
  out.resize(f.bytes.size());
  EXPECT_EQ(out, f.bytes);
  std::vector<uint8_t> small(50);
  EXPECT_EQ(copy_plain_frame(f.batch, f.batch.packets[0], small), 0u) << "does not fit";
}

TEST(WireFrame, PartialChecksumIsFinished) {
  OneFrame f;
  f.bytes = ipv4_frame(17, 333);  // odd length
  size_t udp_len = 8 + 333;
  uint16_t pseudo = pseudo_sum(f.bytes, 17, udp_len);
  f.bytes[40] = static_cast<uint8_t>(pseudo >> 8), f.bytes[41] = static_cast<uint8_t>(pseudo);
  virtio::NetHeader hdr{};
  hdr.flags = virtio::kNetHdrFNeedsCsum;
  hdr.csum_start = 34;
  hdr.csum_offset = 6;
  f.load(hdr, {36, 37, 100});
  ASSERT_TRUE(needs_wire_offload(f.batch.packets[0]));
  VectorSink sink(2048);
  WireFrames r = write_wire_frames(f.batch, f.batch.packets[0], sink);
  ASSERT_EQ(r.frames, 1u);
  EXPECT_EQ(r.dropped, 0u);
  const auto& out = sink.frames[0];
  // Independently: the checksum over the pseudo-header and the datagram with a zero field.
  std::vector<uint8_t> zeroed = f.bytes;
  zeroed[40] = zeroed[41] = 0;
  uint32_t expected = sum_be(&zeroed[26], 8) + 17 + static_cast<uint32_t>(udp_len);
  expected = sum_be(&zeroed[34], udp_len, expected);
  EXPECT_EQ(be16(&out[40]), static_cast<uint16_t>(~fold(expected)));
  // Nothing else changed.
  std::vector<uint8_t> rest = out;
  rest[40] = f.bytes[40], rest[41] = f.bytes[41];
  EXPECT_EQ(rest, f.bytes);
}

TEST(WireFrame, GsoFrameBecomesSegmentsCarryingThePayloadInOrder) {
  OneFrame f;
  constexpr size_t kPayload = 2500, kMss = 1000;
  f.bytes = ipv4_frame(6, kPayload);
  virtio::NetHeader hdr{};
  hdr.flags = virtio::kNetHdrFNeedsCsum;
  hdr.gso_type = virtio::kNetHdrGsoTcpv4;
  hdr.gso_size = kMss;
  hdr.hdr_len = 54;
  hdr.csum_start = 34;
  hdr.csum_offset = 16;
  f.load(hdr, {60, 1500});
  VectorSink sink(2048);
  WireFrames r = write_wire_frames(f.batch, f.batch.packets[0], sink);
  ASSERT_EQ(r.frames, 3u);
  EXPECT_FALSE(r.malformed);
  std::vector<uint8_t> payload;
  for (const auto& seg : sink.frames) {
    ASSERT_GE(seg.size(), 54u);
    EXPECT_LE(seg.size() - 54, kMss);
    EXPECT_EQ(be16(&seg[16]), seg.size() - 14) << "IP total length";
    EXPECT_EQ(fold(sum_be(&seg[14], 20)), 0xffff) << "IP header checksum";
    payload.insert(payload.end(), seg.begin() + 54, seg.end());
  }
  EXPECT_EQ(payload, std::vector<uint8_t>(f.bytes.begin() + 54, f.bytes.end()));
}

TEST(WireFrame, NoBufferOrBadOffsetsAreCountedNotSent) {
  OneFrame f;
  f.bytes = ipv4_frame(6, 2500);
  virtio::NetHeader hdr{};
  hdr.flags = virtio::kNetHdrFNeedsCsum;
  hdr.gso_type = virtio::kNetHdrGsoTcpv4;
  hdr.gso_size = 1000;
  hdr.csum_start = 34;
  hdr.csum_offset = 16;
  f.load(hdr);
  VectorSink two(2048, 2);
  WireFrames r = write_wire_frames(f.batch, f.batch.packets[0], two);
  EXPECT_EQ(r.frames, 2u);
  EXPECT_EQ(r.dropped, 1u);
  virtio::NetHeader bad{};
  bad.flags = virtio::kNetHdrFNeedsCsum;
  bad.csum_start = 4000;
  f.load(bad);
  VectorSink sink(2048);
  r = write_wire_frames(f.batch, f.batch.packets[0], sink);
  EXPECT_TRUE(r.malformed);
  EXPECT_EQ(r.frames, 0u);
  EXPECT_TRUE(sink.frames.empty());
  virtio::NetHeader udp_gso{};
  udp_gso.gso_type = virtio::kNetHdrGsoUdp;
  udp_gso.gso_size = 100;
  f.load(udp_gso);
  r = write_wire_frames(f.batch, f.batch.packets[0], sink);
  EXPECT_TRUE(r.malformed) << "only TCP segmentation is done in software";
}

}  // namespace
}  // namespace ringlane::net
