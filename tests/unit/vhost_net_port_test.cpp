// VhostNetPort on packed virtqueues: a frontend negotiates VIRTIO_F_RING_PACKED over a
// socketpair, and the port's receive, transmit, release, wake-up and statistics then work on the
// packed queues as they do on split ones (one queue pair, guest memory in a memfd).
#include "ringlane/dataplane/vhost_net_port.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

#include "fake_guest.h"
#include "fake_packed_ring.h"
#include "ringlane/base/event_fd.h"
#include "ringlane/base/event_loop.h"
#include "ringlane/vhost_user/message_channel.h"

namespace ringlane::dataplane {
namespace {

using vhost_user::Request;
using vhost_user::VringAddr;
using vhost_user::VringState;
using virtio::bit;

struct MemTable {
  uint32_t count;
  uint32_t padding;
  virtio::RegionDescriptor regions[vhost_user::kMemTableRegions];
};

class VhostNetPortPacked : public ::testing::Test {
 protected:
  void SetUp() override {
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    front_.emplace(UniqueFd(sv[0]));
    back_.emplace(UniqueFd(sv[1]));
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop.ok());
    loop_ = std::move(*loop);
    VhostNetPortConfig config;
    config.name = "vm0";
    // Never started: the test is the frontend, over its own socketpair.
    config.socket_path = "/nonexistent/ringlane-test.sock";
    port_.emplace(config, nullptr, *loop_);
  }

  Status request(Request r, const void* payload, uint32_t size, std::vector<int> fds = {}) {
    Status sent = front_->send(r, 0, payload, size, fds.data(), fds.size());
    if (!sent.ok()) return sent;
    auto m = back_->receive();
    if (!m.ok()) return m.error();
    if (!m->has_value()) return Error(EAGAIN, "message did not arrive whole");
    return port_->device().handle(**m, *back_);
  }
  Status request_u64(Request r, uint64_t value, std::vector<int> fds = {}) {
    return request(r, &value, sizeof(value), std::move(fds));
  }
  Status request_state(Request r, uint32_t index, uint32_t num) {
    VringState s{index, num};
    return request(r, &s, sizeof(s));
  }

  void bring_up(uint64_t features) {
    ASSERT_TRUE(request_u64(Request::set_features, features).ok());
    ASSERT_TRUE(request_u64(Request::set_protocol_features, 0).ok());
    MemTable t{};
    t.count = 1;
    t.regions[0] = guest_.regions()[0];
    ASSERT_TRUE(
        request(Request::set_mem_table, &t, 8 + sizeof(virtio::RegionDescriptor), {guest_.fd()})
            .ok());
    for (uint32_t index : {0u, 1u}) {
      const virtio::FakePackedRing& ring = index == 0 ? rx_ : tx_;
      ASSERT_TRUE(request_state(Request::set_vring_num, index, ring.size()).ok());
      ASSERT_TRUE(request_state(Request::set_vring_base, index, 1u << 15).ok());
      VringAddr a{index,
                  0,
                  guest_.user_addr(ring.desc_gpa()),
                  guest_.user_addr(ring.device_event_gpa()),
                  guest_.user_addr(ring.driver_event_gpa()),
                  0};
      ASSERT_TRUE(request(Request::set_vring_addr, &a, sizeof(a)).ok());
      ASSERT_TRUE(request_u64(Request::set_vring_kick, index, {kick_[index].fd()}).ok());
      ASSERT_TRUE(request_u64(Request::set_vring_call, index, {call_.fd()}).ok());
      ASSERT_TRUE(request_state(Request::set_vring_enable, index, 1).ok());
    }
  }

  static EventFd make_event_fd() {
    auto fd = EventFd::create();
    return fd.ok() ? std::move(*fd) : EventFd(UniqueFd());
  }

  virtio::FakeGuest guest_{{{virtio::FakeGuest::kDefaultBase, virtio::FakeGuest::kDefaultSize}},
                           virtio::Backing::memfd};
  // 24 and 12 descriptors: packed rings of any size.
  virtio::FakePackedRing rx_{guest_, 24};
  virtio::FakePackedRing tx_{guest_, 12};
  std::unique_ptr<EventLoop> loop_;
  std::optional<VhostNetPort> port_;
  std::optional<vhost_user::MessageChannel> front_;
  std::optional<vhost_user::MessageChannel> back_;
  EventFd kick_[2] = {make_event_fd(), make_event_fd()};
  EventFd call_ = make_event_fd();
};

constexpr uint64_t kFeatures = bit(virtio::kFVersion1) | bit(vhost_user::kFProtocolFeatures) |
                               bit(virtio::kFRingPacked) | bit(virtio::kNetFMrgRxbuf);

TEST_F(VhostNetPortPacked, ForwardsAndCountsOnPackedQueues) {
  bring_up(kFeatures);
  ASSERT_TRUE(port_->device().ring_packed());
  ASSERT_TRUE(port_->device().tx_packed(0).live());
  ASSERT_TRUE(port_->device().rx_packed(0).live());
  EXPECT_EQ(port_->transmit_queue_for(0), 0);

  std::vector<uint64_t> buffers;
  for (int i = 0; i < 20; ++i) {
    buffers.push_back(guest_.alloc(2048));
    rx_.offer({{buffers.back(), 2048, true}});
  }
  std::vector<uint8_t> frame(12 + 60, 0x5c);
  uint64_t sent = 0;
  // Four rounds of five: the TX ring of 12 wraps, the RX ring takes 20 of its 24.
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 5; ++i) tx_.offer({{guest_.put(frame), 72}});
    net::PacketBatch batch;
    ASSERT_EQ(port_->receive(0, batch), 5);
    std::vector<uint16_t> which{0, 1, 2, 3, 4};
    EXPECT_EQ(port_->transmit(0, batch, which), 5);
    port_->release(0, batch);
    sent += 5;
    while (tx_.take_used()) {
    }
  }
  int delivered = 0;
  while (auto used = rx_.take_used()) {
    EXPECT_EQ(used->len, 72u);
    ++delivered;
  }
  EXPECT_EQ(delivered, 20);

  // Another burst finds no receive buffers left: dropped and counted.
  for (int i = 0; i < 2; ++i) tx_.offer({{guest_.put(frame), 72}});
  net::PacketBatch batch;
  ASSERT_EQ(port_->receive(0, batch), 2);
  std::vector<uint16_t> which{0, 1};
  EXPECT_EQ(port_->transmit(0, batch, which), 0);
  port_->release(0, batch);

  auto stats = port_->queue_stats();
  ASSERT_EQ(stats.size(), 1u);
  PortQueueStats s = stats[0];
  EXPECT_TRUE(s.rx_live);
  EXPECT_TRUE(s.tx_live);
  EXPECT_EQ(s.rx_packets, sent + 2);
  EXPECT_EQ(s.rx_bytes, (sent + 2) * 60);
  EXPECT_EQ(s.tx_packets, sent);
  EXPECT_EQ(s.tx_bytes, sent * 60);
  EXPECT_EQ(s.tx_drop_no_buffers, 2u);
  EXPECT_EQ(s.rx_ring_errors, 0u);
  EXPECT_EQ(s.tx_ring_errors, 0u);
  EXPECT_GT(s.notifications, 0u);
  // The guest offers 3 more to transmit and 1 receive buffer: the occupancy of each ring.
  for (int i = 0; i < 3; ++i) tx_.offer({{guest_.put(frame), 72}});
  rx_.offer({{guest_.alloc(2048), 2048, true}});
  s = port_->queue_stats()[0];
  EXPECT_EQ(s.rx_occupancy, 3u);
  EXPECT_EQ(s.tx_occupancy, 1u);
}

TEST_F(VhostNetPortPacked, WakeupArmsThePackedRingsKicks) {
  bring_up(kFeatures);
  // Busy-polling: the driver is asked not to kick.
  EXPECT_EQ(tx_.device_event().flags, virtio::kRingEventFlagsDisable);
  Port::Wakeup w = port_->arm_wakeup(0);
  EXPECT_GE(w.fd, 0);  // the backend's copy of the guest TX ring's kick eventfd
  EXPECT_FALSE(w.ready);
  EXPECT_EQ(tx_.device_event().flags, virtio::kRingEventFlagsEnable);
  // The driver offers a packet and kicks; the woken worker counts the kicks.
  tx_.offer({{guest_.put(std::vector<uint8_t>(72, 1)), 72}});
  signal_event_fd(kick_[1].fd());
  signal_event_fd(kick_[1].fd());
  port_->disarm_wakeup(0, true);
  EXPECT_EQ(tx_.device_event().flags, virtio::kRingEventFlagsDisable);
  EXPECT_EQ(port_->queue_stats()[0].kicks, 2u);
  // With a packet waiting, arming says so at once.
  Port::Wakeup again = port_->arm_wakeup(0);
  EXPECT_TRUE(again.ready);
  port_->disarm_wakeup(0, false);
}

TEST_F(VhostNetPortPacked, CountersSurviveAReconnectThatChangesTheRingKind) {
  bring_up(kFeatures);
  tx_.offer({{guest_.put(std::vector<uint8_t>(72, 1)), 72}});
  net::PacketBatch batch;
  ASSERT_EQ(port_->receive(0, batch), 1);
  port_->release(0, batch);
  port_->device().disconnect();
  EXPECT_FALSE(port_->device().ring_packed());
  auto s = port_->queue_stats()[0];
  EXPECT_FALSE(s.rx_live);
  EXPECT_EQ(s.rx_packets, 1u);
  // Not serving: nothing received, frames for it dropped as queue-down on the split queue.
  EXPECT_EQ(port_->receive(0, batch), 0);
  EXPECT_EQ(port_->transmit_queue_for(0), -1);
}

}  // namespace
}  // namespace ringlane::dataplane
