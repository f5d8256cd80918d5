// plan_nic_offload: a packet's virtio-net offload request as DPDK's mbuf fields describe it, and
// the requests no NIC can be told (they go the software way or are dropped as malformed).
#include <gtest/gtest.h>

#include <vector>

#include "ringlane/dataplane/dpdk_port.h"

namespace ringlane::dataplane {
namespace {

using Bytes = std::vector<uint8_t>;

void put16(Bytes& b, size_t at, uint16_t v) {
  b[at] = static_cast<uint8_t>(v >> 8);
  b[at + 1] = static_cast<uint8_t>(v);
}

// Ethernet (with `tags` VLAN tags), an IP header (IPv4 with `ip_options` 4-byte words, or IPv6
// with `ext` 8-byte extension headers), and a TCP (20 + tcp_options bytes) or UDP header.
Bytes frame(bool ipv6, uint8_t proto, int tags = 0, int ip_options = 0, int ext = 0,
            int tcp_options = 0) {
  Bytes b(12, 0xaa);
  for (int t = 0; t < tags; ++t) {
    b.resize(b.size() + 4, 0);
    put16(b, b.size() - 4, t == 0 && tags == 2 ? 0x88a8 : 0x8100);
  }
  b.resize(b.size() + 2);
  put16(b, b.size() - 2, ipv6 ? 0x86dd : 0x0800);
  size_t l3 = b.size();
  if (ipv6) {
    b.resize(l3 + 40 + 8 * size_t(ext), 0);
    b[l3] = 0x60;
    b[l3 + 6] = ext > 0 ? 0 : proto;  // hop-by-hop first when there are extension headers
  } else {
    b.resize(l3 + 20 + 4 * size_t(ip_options), 0);
    b[l3] = static_cast<uint8_t>(0x40 | (5 + ip_options));
    b[l3 + 9] = proto;
  }
  size_t l4 = b.size();
  if (proto == 6) {
    b.resize(l4 + 20 + tcp_options, 0);
    b[l4 + 12] = static_cast<uint8_t>((5 + tcp_options / 4) << 4);
  } else {
    b.resize(l4 + 8, 0);
  }
  b.resize(b.size() + 100, 0x55);  // payload
  return b;
}

virtio::NetHeader csum_request(size_t start, uint16_t offset) {
  virtio::NetHeader h{};
  h.flags = virtio::kNetHdrFNeedsCsum;
  h.csum_start = static_cast<uint16_t>(start);
  h.csum_offset = offset;
  return h;
}

std::optional<NicOffload> plan(const Bytes& b, const virtio::NetHeader& h) {
  return plan_nic_offload(b, static_cast<uint32_t>(b.size()), h);
}

TEST(PlanNicOffload, NoRequestNoPlan) {
  EXPECT_FALSE(plan(frame(false, 6), virtio::NetHeader{}));
}

TEST(PlanNicOffload, Ipv4TcpChecksum) {
  auto p = plan(frame(false, 6), csum_request(34, 16));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->checksum, NicOffload::Checksum::tcp);
  EXPECT_TRUE(p->ipv4);
  EXPECT_FALSE(p->segment);
  EXPECT_EQ(p->l2_len, 14);
  EXPECT_EQ(p->l3_len, 20);
}

TEST(PlanNicOffload, VlanTaggedUdpChecksum) {
  auto one = plan(frame(false, 17, 1), csum_request(38, 6));
  ASSERT_TRUE(one);
  EXPECT_EQ(one->checksum, NicOffload::Checksum::udp);
  EXPECT_EQ(one->l2_len, 18);
  auto two = plan(frame(false, 17, 2), csum_request(42, 6));
  ASSERT_TRUE(two);
  EXPECT_EQ(two->l2_len, 22);
}

TEST(PlanNicOffload, Ipv4OptionsLengthenL3) {
  auto p = plan(frame(false, 6, 0, 2), csum_request(42, 16));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->l3_len, 28);
}

TEST(PlanNicOffload, Ipv6ExtensionHeadersFromCsumStart) {
  auto p = plan(frame(true, 6, 0, 0, 1), csum_request(14 + 48, 16));
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->ipv4);
  EXPECT_EQ(p->l3_len, 48);
}

TEST(PlanNicOffload, TcpSegmentation) {
  virtio::NetHeader h = csum_request(54, 16);
  h.gso_type = virtio::kNetHdrGsoTcpv6;
  h.gso_size = 1428;
  auto p = plan(frame(true, 6, 0, 0, 0, 12), h);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->segment);
  EXPECT_EQ(p->l4_len, 32);
  EXPECT_EQ(p->segment_size, 1428);

  virtio::NetHeader h4 = csum_request(34, 16);
  h4.gso_type = virtio::kNetHdrGsoTcpv4 | virtio::kNetHdrGsoEcn;
  h4.gso_size = 1448;
  auto p4 = plan(frame(false, 6), h4);
  ASSERT_TRUE(p4);
  EXPECT_TRUE(p4->segment);
  EXPECT_TRUE(p4->ipv4);
  EXPECT_EQ(p4->l4_len, 20);
}

TEST(PlanNicOffload, SegmentationWithoutChecksumFlagReadsTheHeaders) {
  virtio::NetHeader h{};
  h.gso_type = virtio::kNetHdrGsoTcpv4;
  h.gso_size = 1000;
  auto p = plan(frame(false, 6), h);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->l3_len, 20);
  EXPECT_EQ(p->checksum, NicOffload::Checksum::tcp);
}

TEST(PlanNicOffload, RefusesWhatNoNicCanBeTold) {
  // csum_start not at the L4 header.
  EXPECT_FALSE(plan(frame(false, 6), csum_request(30, 16)));
  // A TCP checksum offset on UDP, a UDP one on TCP, an offset of neither.
  EXPECT_FALSE(plan(frame(false, 17), csum_request(34, 16)));
  EXPECT_FALSE(plan(frame(false, 6), csum_request(34, 6)));
  EXPECT_FALSE(plan(frame(false, 6), csum_request(34, 10)));
  // The checksum field past the frame's end.
  Bytes b = frame(false, 6);
  EXPECT_FALSE(plan_nic_offload(b, 40, csum_request(34, 16)));
  // Not IP.
  Bytes arp = frame(false, 6);
  put16(arp, 12, 0x0806);
  EXPECT_FALSE(plan(arp, csum_request(34, 16)));
  // IPv4 segmentation of an IPv6 frame, UDP fragmentation, a segment size of 0.
  virtio::NetHeader h = csum_request(54, 16);
  h.gso_type = virtio::kNetHdrGsoTcpv4;
  h.gso_size = 1000;
  EXPECT_FALSE(plan(frame(true, 6), h));
  virtio::NetHeader ufo = csum_request(34, 6);
  ufo.gso_type = virtio::kNetHdrGsoUdp;
  ufo.gso_size = 1000;
  EXPECT_FALSE(plan(frame(false, 17), ufo));
  virtio::NetHeader zero = csum_request(34, 16);
  zero.gso_type = virtio::kNetHdrGsoTcpv4;
  EXPECT_FALSE(plan(frame(false, 6), zero));
  // Headers cut short.
  Bytes cut = frame(false, 6);
  EXPECT_FALSE(plan_nic_offload(std::span(cut).first(30), 200, csum_request(34, 16)));
  // A TCP header shorter than 20 bytes.
  virtio::NetHeader seg = csum_request(34, 16);
  seg.gso_type = virtio::kNetHdrGsoTcpv4;
  seg.gso_size = 1000;
  Bytes bad_tcp = frame(false, 6);
  bad_tcp[34 + 12] = 0x40;
  EXPECT_FALSE(plan(bad_tcp, seg));
}

}  // namespace
}  // namespace ringlane::dataplane
