// TapPort against one end of a SOCK_SEQPACKET socket pair standing in for the TAP device (one
// whole frame per read and write, non-blocking, as /dev/net/tun): the virtio-net header read into
// the packet and written in front of it, runt and malformed frames counted and dropped, slots
// given back by release, a full queue dropping instead of blocking.
#include "ringlane/dataplane/tap_port.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <numeric>
#include <string>
#include <vector>

namespace ringlane::dataplane {
namespace {

constexpr size_t kHeader = sizeof(virtio::NetHeader);

class TapPortTest : public ::testing::Test {
 protected:
  void open_port(bool vnet_header = true) {
    int fds[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    peer_ = UniqueFd(fds[1]);
    uplink::TapOptions options;
    options.vnet_header = vnet_header;
    options.offloads = vnet_header;
    port_ = std::make_unique<TapPort>("up",
                                      uplink::TapDevice::adopt(UniqueFd(fds[0]), "pair", options));
  }

  // A frame of `len` bytes whose bytes count up from `seed`.
  static std::vector<uint8_t> frame(size_t len, uint8_t seed = 0) {
    std::vector<uint8_t> f(len);
    std::iota(f.begin(), f.end(), seed);
    return f;
  }

  // What the "kernel" sends the port: the header (when given) and the frame, one message.
  void send(const std::vector<uint8_t>& f, const virtio::NetHeader* hdr = nullptr) {
    std::vector<uint8_t> msg;
    if (hdr != nullptr) {
      msg.resize(kHeader);
      std::memcpy(msg.data(), hdr, kHeader);
    }
    msg.insert(msg.end(), f.begin(), f.end());
    ASSERT_EQ(write(peer_.get(), msg.data(), msg.size()), static_cast<ssize_t>(msg.size()));
  }

  // One message the port wrote, or empty when there is none.
  std::vector<uint8_t> take() {
    std::vector<uint8_t> buf(70000);
    ssize_t n = read(peer_.get(), buf.data(), buf.size());
    if (n < 0) return {};
    buf.resize(static_cast<size_t>(n));
    return buf;
  }

  std::map<std::string, uint64_t> counters() const {
    std::map<std::string, uint64_t> out;
    for (const auto& [name, value] : port_->counters()) out[name] = value;
    return out;
  }

  UniqueFd peer_;
  std::unique_ptr<TapPort> port_;
  net::PacketBatch batch_;
};

TEST_F(TapPortTest, ReceivesFramesWithTheirOffloadHeader) {
  open_port();
  virtio::NetHeader plain{};
  virtio::NetHeader gso{};
  gso.flags = virtio::kNetHdrFNeedsCsum | virtio::kNetHdrFDataValid;
  gso.gso_type = virtio::kNetHdrGsoTcpv4;
  gso.hdr_len = 54;
  gso.gso_size = 1448;
  gso.csum_start = 34;
  gso.csum_offset = 16;
  gso.num_buffers = 7;
  send(frame(60, 1), &plain);
  send(frame(3000, 2), &gso);

  ASSERT_EQ(port_->receive(0, batch_), 2);
  ASSERT_EQ(batch_.count, 2);
  const net::PacketView& a = batch_.packets[0];
  EXPECT_EQ(a.len, 60u);
  EXPECT_EQ(a.span_count, 1);
  EXPECT_EQ(std::memcmp(batch_.spans_of(a)[0].data, frame(60, 1).data(), 60), 0);
  EXPECT_EQ(a.hdr.flags, 0);
  EXPECT_EQ(a.hdr.gso_type, virtio::kNetHdrGsoNone);
  const net::PacketView& b = batch_.packets[1];
  EXPECT_EQ(b.len, 3000u);
  EXPECT_EQ(std::memcmp(batch_.spans_of(b)[0].data, frame(3000, 2).data(), 3000), 0);
  // The request passes; DATA_VALID and num_buffers do not.
  EXPECT_EQ(b.hdr.flags, virtio::kNetHdrFNeedsCsum);
  EXPECT_EQ(b.hdr.gso_type, virtio::kNetHdrGsoTcpv4);
  EXPECT_EQ(b.hdr.gso_size, 1448);
  EXPECT_EQ(b.hdr.hdr_len, 54);
  EXPECT_EQ(b.hdr.csum_start, 34);
  EXPECT_EQ(b.hdr.csum_offset, 16);
  EXPECT_EQ(b.hdr.num_buffers, 0);
  EXPECT_NE(a.head, b.head);
  EXPECT_EQ(batch_.source_head_count, 2);
  port_->release(0, batch_);

  EXPECT_EQ(port_->receive(0, batch_), 0);  // nothing more: EAGAIN, no wait
  auto stats = port_->queue_stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].rx_packets, 2u);
  EXPECT_EQ(stats[0].rx_bytes, 3060u);
}

TEST_F(TapPortTest, RuntsAndBadHeadersAreCountedAndDropped) {
  open_port();
  virtio::NetHeader plain{};
  send({}, &plain);         // a header and no frame
  send(frame(13), &plain);  // shorter than an Ethernet header
  std::vector<uint8_t> half(5);
  ASSERT_EQ(write(peer_.get(), half.data(), half.size()), 5);  // not even a header
  virtio::NetHeader udp{};
  udp.flags = virtio::kNetHdrFNeedsCsum;
  udp.gso_type = virtio::kNetHdrGsoUdp;  // never offered to the kernel
  udp.gso_size = 1000;
  udp.csum_start = 34;
  udp.csum_offset = 6;
  send(frame(2000), &udp);
  virtio::NetHeader outside{};
  outside.flags = virtio::kNetHdrFNeedsCsum;
  outside.csum_start = 58;  // the checksum field past the frame's end
  outside.csum_offset = 1;
  send(frame(60), &outside);
  virtio::NetHeader no_size{};
  no_size.flags = virtio::kNetHdrFNeedsCsum;
  no_size.gso_type = virtio::kNetHdrGsoTcpv6;
  no_size.csum_start = 54;
  no_size.csum_offset = 16;
  send(frame(3000), &no_size);
  send(frame(64, 9), &plain);  // the one good frame, after them

  ASSERT_EQ(port_->receive(0, batch_), 1);
  EXPECT_EQ(batch_.packets[0].len, 64u);
  EXPECT_EQ(batch_.spans_of(batch_.packets[0])[0].data[0], 9);
  port_->release(0, batch_);
  auto c = counters();
  EXPECT_EQ(c["rx_runt"], 3u);
  EXPECT_EQ(c["rx_bad_header"], 3u);
  EXPECT_EQ(port_->queue_stats()[0].rx_drop_malformed, 6u);
}

TEST_F(TapPortTest, ReleaseGivesSlotsBackForTheNextBurst) {
  open_port();
  virtio::NetHeader plain{};
  for (int i = 0; i < 3 * net::kBurstSize; ++i) send(frame(100, static_cast<uint8_t>(i)), &plain);
  int total = 0;
  for (int burst = 0; burst < 3; ++burst) {
    ASSERT_EQ(port_->receive(0, batch_), net::kBurstSize) << "burst " << burst;
    for (uint16_t i = 0; i < batch_.count; ++i) {
      EXPECT_EQ(batch_.spans_of(batch_.packets[i])[0].data[0], static_cast<uint8_t>(total++));
    }
    port_->release(0, batch_);
  }
  EXPECT_EQ(port_->receive(0, batch_), 0);
}

TEST_F(TapPortTest, TransmitWritesTheHeaderAndEverySpan) {
  open_port();
  std::vector<uint8_t> a = frame(20, 0), b = frame(40, 20);
  net::PacketBatch out;
  out.spans[0] = {a.data(), a.size()};
  out.spans[1] = {b.data(), b.size()};
  out.packets[0] = {0, 2, 0, 60, {}};
  out.packets[0].hdr.flags = virtio::kNetHdrFNeedsCsum;
  out.packets[0].hdr.csum_start = 34;
  out.packets[0].hdr.csum_offset = 16;
  out.packets[0].hdr.num_buffers = 3;  // the sender's, meaningless here
  out.count = 1;
  out.spans_used = 2;
  uint16_t which[] = {0};
  EXPECT_EQ(port_->transmit(0, out, which), 1);
  std::vector<uint8_t> msg = take();
  ASSERT_EQ(msg.size(), kHeader + 60);
  virtio::NetHeader hdr;
  std::memcpy(&hdr, msg.data(), kHeader);
  EXPECT_EQ(hdr.flags, virtio::kNetHdrFNeedsCsum);
  EXPECT_EQ(hdr.csum_start, 34);
  EXPECT_EQ(hdr.csum_offset, 16);
  EXPECT_EQ(hdr.num_buffers, 0);
  std::vector<uint8_t> whole = frame(60, 0);
  EXPECT_EQ(std::memcmp(msg.data() + kHeader, whole.data(), 60), 0);
  EXPECT_EQ(port_->queue_stats()[0].tx_packets, 1u);
  EXPECT_EQ(port_->queue_stats()[0].tx_bytes, 60u);
}

TEST_F(TapPortTest, AFullQueueDropsInsteadOfBlocking) {
  open_port();
  std::vector<uint8_t> f = frame(1500);
  net::PacketBatch out;
  out.spans[0] = {f.data(), f.size()};
  out.spans_used = 1;
  out.count = net::kBurstSize;
  std::vector<uint16_t> which;
  for (uint16_t i = 0; i < net::kBurstSize; ++i) {
    out.packets[i] = {0, 1, i, 1500, {}};
    which.push_back(i);
  }
  // Nobody reads the peer: the socket's buffer fills and writes say EAGAIN.
  uint64_t sent = 0;
  for (int burst = 0; burst < 1000 && counters()["tx_queue_full"] == 0; ++burst) {
    sent += port_->transmit(0, out, which);
  }
  auto c = counters();
  EXPECT_GT(c["tx_queue_full"], 0u);
  EXPECT_GT(sent, 0u);
  auto s = port_->queue_stats()[0];
  EXPECT_EQ(s.tx_packets, sent);
  EXPECT_EQ(s.tx_drop_no_buffers, c["tx_queue_full"]);
}

TEST_F(TapPortTest, WithoutAHeaderOffloadRequestsAreDropped) {
  open_port(/*vnet_header=*/false);
  std::vector<uint8_t> f = frame(60);
  net::PacketBatch out;
  out.spans[0] = {f.data(), f.size()};
  out.spans_used = 1;
  out.count = 2;
  out.packets[0] = {0, 1, 0, 60, {}};
  out.packets[1] = {0, 1, 1, 60, {}};
  out.packets[1].hdr.flags = virtio::kNetHdrFNeedsCsum;
  out.packets[1].hdr.csum_start = 34;
  out.packets[1].hdr.csum_offset = 16;
  uint16_t which[] = {0, 1};
  EXPECT_EQ(port_->transmit(0, out, which), 1);
  EXPECT_EQ(take().size(), 60u);  // the plain frame, as it is
  EXPECT_TRUE(take().empty());
  EXPECT_EQ(counters()["tx_no_offload"], 1u);

  send(frame(14, 3));  // no header in front: the whole message is the frame
  ASSERT_EQ(port_->receive(0, batch_), 1);
  EXPECT_EQ(batch_.packets[0].len, 14u);
  EXPECT_EQ(batch_.packets[0].hdr.flags, 0);
  port_->release(0, batch_);
}

TEST(TapDeviceName, NamesTheKernelWouldRefuseAreRefusedFirst) {
  EXPECT_NE(uplink::TapDevice::check_name(""), "");
  EXPECT_NE(uplink::TapDevice::check_name("sixteen-chars-xx"), "");
  EXPECT_NE(uplink::TapDevice::check_name("a/b"), "");
  EXPECT_NE(uplink::TapDevice::check_name("a b"), "");
  EXPECT_NE(uplink::TapDevice::check_name("a:1"), "");
  EXPECT_NE(uplink::TapDevice::check_name(".."), "");
  EXPECT_EQ(uplink::TapDevice::check_name("rltap0"), "");
  EXPECT_EQ(uplink::TapDevice::check_name("fifteen-chars-x"), "");
}

}  // namespace
}  // namespace ringlane::dataplane
