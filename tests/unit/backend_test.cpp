// VhostUserBackend via NetDevice: the frontend's side of the protocol is played over a
// socketpair with MessageChannel, guest memory is a memfd both sides map, and the rings the
// backend brings up are driven through the data path to prove they are the right ones.
#include "ringlane/vhost_user/backend.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <vector>

#include "fake_guest.h"
#include "fake_packed_ring.h"
#include "log_capture.h"
#include "open_fds.h"
#include "ringlane/base/event_fd.h"
#include "ringlane/net/rx.h"
#include "ringlane/net/tx.h"
#include "ringlane/vhost_user/net_device.h"
#include "ringlane/virtio/packed_ring_placement.h"

namespace ringlane::vhost_user {
namespace {

using virtio::bit;

struct MemTable {
  uint32_t count;
  uint32_t padding;
  virtio::RegionDescriptor regions[kMemTableRegions];
};

struct SingleRegion {
  uint64_t padding;
  virtio::RegionDescriptor region;
};

constexpr uint64_t kAckedFeatures = bit(virtio::kFVersion1) | bit(kFProtocolFeatures);
constexpr uint64_t kPackedFeatures = kAckedFeatures | bit(virtio::kFRingPacked);
// What DPDK's virtio_user and QEMU send for a fresh packed ring: index 0, wrap counter 1.
constexpr uint32_t kFreshPackedBase = 1u << 15;

class BackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    front_.emplace(UniqueFd(sv[0]));
    back_.emplace(UniqueFd(sv[1]));
  }

  // Sends one request and has the backend handle it; returns what handle() returned.
  Status request(Request r, const void* payload, uint32_t size, uint32_t flags = 0,
                 std::vector<int> fds = {}) {
    Status sent = front_->send(r, flags, payload, size, fds.data(), fds.size());
    if (!sent.ok()) return sent;
    auto m = back_->receive();
    if (!m.ok()) return m.error();
    if (!m->has_value()) return Error(EAGAIN, "message did not arrive whole");
    return device_.handle(**m, *back_);
  }
  Status request_u64(Request r, uint64_t value, uint32_t flags = 0, std::vector<int> fds = {}) {
    return request(r, &value, sizeof(value), flags, std::move(fds));
  }
  Status request_state(Request r, uint32_t index, uint32_t num, uint32_t flags = 0) {
    VringState s{index, num};
    return request(r, &s, sizeof(s), flags);
  }

  // The next reply waiting on the frontend's end, if any.
  std::optional<Message> reply() {
    auto m = front_->receive();
    if (!m.ok() || !m->has_value()) return std::nullopt;
    return std::move(**m);
  }
  std::optional<uint64_t> reply_u64() {
    auto m = reply();
    if (!m || m->header.size != 8) return std::nullopt;
    return m->u64();
  }
  uint64_t get(Request r) {
    EXPECT_TRUE(request(r, nullptr, 0).ok());
    auto v = reply_u64();
    EXPECT_TRUE(v.has_value());
    return v.value_or(0);
  }

  Status set_mem_table(const virtio::FakeGuest& guest) {
    MemTable t{};
    t.count = static_cast<uint32_t>(guest.regions().size());
    std::vector<int> fds;
    for (uint32_t i = 0; i < t.count; ++i) {
      t.regions[i] = guest.regions()[i];
      fds.push_back(guest.fd());
    }
    return request(Request::set_mem_table, &t, 8 + t.count * sizeof(virtio::RegionDescriptor), 0,
                   fds);
  }

  Status set_vring_addr(uint32_t index, const virtio::FakeRing& ring) {
    VringAddr a{index,
                0,
                guest_.user_addr(ring.desc_gpa()),
                guest_.user_addr(ring.used_gpa()),
                guest_.user_addr(ring.avail_gpa()),
                0};
    return request(Request::set_vring_addr, &a, sizeof(a));
  }

  // A packed ring's addresses: desc the ring, avail the driver event area, used the device's.
  Status set_packed_addr(uint32_t index, const virtio::FakePackedRing& ring) {
    VringAddr a{index,
                0,
                guest_.user_addr(ring.desc_gpa()),
                guest_.user_addr(ring.device_event_gpa()),
                guest_.user_addr(ring.driver_event_gpa()),
                0};
    return request(Request::set_vring_addr, &a, sizeof(a));
  }
  // The bring-up of a packed ring as DPDK's virtio_user does it, enabled.
  void set_up_packed_ring(uint32_t index, const virtio::FakePackedRing& ring,
                          uint32_t base = kFreshPackedBase) {
    ASSERT_TRUE(request_state(Request::set_vring_num, index, ring.size()).ok());
    ASSERT_TRUE(request_state(Request::set_vring_base, index, base).ok());
    ASSERT_TRUE(set_packed_addr(index, ring).ok());
    ASSERT_TRUE(request_u64(Request::set_vring_kick, index, 0, {kick_.fd()}).ok());
    ASSERT_TRUE(request_u64(Request::set_vring_call, index, 0, {call_.fd()}).ok());
    ASSERT_TRUE(request_state(Request::set_vring_enable, index, 1).ok());
  }
  // GET_VRING_BASE's answer.
  std::optional<uint32_t> get_vring_base(uint32_t index) {
    if (!request_state(Request::get_vring_base, index, 0).ok()) return std::nullopt;
    auto m = reply();
    if (!m || m->header.size != sizeof(VringState)) return std::nullopt;
    return m->read<VringState>().num;
  }
  // The guest sends `n` packets of 60 bytes on pair 0; the device forwards them to nowhere and
  // gives the buffers back. Returns the packets the device took.
  uint16_t send_packed(virtio::FakePackedRing& tx, int n) {
    std::vector<uint8_t> bytes(12 + 60, 0x22);
    for (int i = 0; i < n; ++i)
      tx.offer({{guest_.put(bytes), static_cast<uint32_t>(bytes.size())}});
    net::PacketBatch batch;
    uint16_t got = net::dequeue_burst(device_.tx_packed(0), device_.features(), batch);
    net::complete_burst(device_.tx_packed(0), batch);
    for (uint16_t i = 0; i < got; ++i) EXPECT_TRUE(tx.take_used().has_value());
    return got;
  }

  // The whole bring-up of one ring, as QEMU does it; the ring is left disabled.
  void set_up_ring(uint32_t index, const virtio::FakeRing& ring) {
    ASSERT_TRUE(request_state(Request::set_vring_num, index, ring.size()).ok());
    ASSERT_TRUE(set_vring_addr(index, ring).ok());
    ASSERT_TRUE(request_state(Request::set_vring_base, index, 0).ok());
    ASSERT_TRUE(request_u64(Request::set_vring_kick, index, 0, {kick_.fd()}).ok());
    ASSERT_TRUE(request_u64(Request::set_vring_call, index, 0, {call_.fd()}).ok());
  }

  void negotiate(uint64_t features = kAckedFeatures, uint64_t protocol = 0) {
    ASSERT_TRUE(request_u64(Request::set_features, features).ok());
    if (features & bit(kFProtocolFeatures)) {
      ASSERT_TRUE(request_u64(Request::set_protocol_features, protocol).ok());
    }
  }

  static EventFd make_event_fd() {
    auto fd = EventFd::create();
    return fd.ok() ? std::move(*fd) : EventFd(UniqueFd());
  }

  virtio::FakeGuest guest_{{{virtio::FakeGuest::kDefaultBase, virtio::FakeGuest::kDefaultSize}},
                           virtio::Backing::memfd};
  QuiescentState grace_;
  NetDevice device_{NetDeviceConfig{}, &grace_};
  std::optional<MessageChannel> front_;
  std::optional<MessageChannel> back_;
  EventFd kick_ = make_event_fd();
  EventFd call_ = make_event_fd();
};

TEST_F(BackendTest, GetFeaturesOffersNetFeaturesAndProtocolFeatures) {
  ASSERT_TRUE(request(Request::get_features, nullptr, 0).ok());
  auto m = reply();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->request(), Request::get_features);
  EXPECT_EQ(m->header.flags, kVersion | kFlagReply);
  ASSERT_EQ(m->header.size, 8u);
  EXPECT_EQ(m->u64(), offered_net_features() | bit(kFProtocolFeatures));
}

TEST_F(BackendTest, ProtocolFeaturesQueuesAndSlots) {
  uint64_t protocol = get(Request::get_protocol_features);
  EXPECT_NE(protocol & bit(protocol::kReplyAck), 0u);
  EXPECT_NE(protocol & bit(protocol::kConfigureMemSlots), 0u);
  EXPECT_NE(protocol & bit(protocol::kMq), 0u);
  EXPECT_EQ(get(Request::get_queue_num), device_.max_queue_pairs());
  EXPECT_GE(get(Request::get_max_mem_slots), 509u);
}

TEST_F(BackendTest, SetFeaturesWithBitsNotOfferedFails) {
  Status s = request_u64(Request::set_features, kAckedFeatures | bit(virtio::kNetFCtrlVq));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), EINVAL);
  EXPECT_EQ(device_.acked_features(), 0u);
  EXPECT_EQ(device_.stats().bad_messages.get(), 1u);
  EXPECT_FALSE(reply().has_value());
}

TEST_F(BackendTest, SetFeaturesConfiguresTheDataPath) {
  negotiate(kAckedFeatures | bit(virtio::kNetFMrgRxbuf) | bit(virtio::kNetFGuestCsum));
  EXPECT_EQ(device_.acked_features(),
            kAckedFeatures | bit(virtio::kNetFMrgRxbuf) | bit(virtio::kNetFGuestCsum));
  EXPECT_EQ(device_.features().hdr_len, 12);
  EXPECT_TRUE(device_.features().mrg_rxbuf);
  EXPECT_TRUE(device_.features().guest_csum);
}

TEST_F(BackendTest, RingSetupMakesTheQueueLiveAndGetVringBaseStopsIt) {
  virtio::FakeRing tx(guest_, 64);
  negotiate();
  ASSERT_TRUE(set_mem_table(guest_).ok());
  EXPECT_EQ(device_.memory_regions(), 1u);
  set_up_ring(1, tx);
  // With protocol features acked a ring starts disabled.
  EXPECT_FALSE(device_.tx_queue(0).live());
  ASSERT_TRUE(request_state(Request::set_vring_enable, 1, 1).ok());
  ASSERT_TRUE(device_.tx_queue(0).live());
  EXPECT_FALSE(device_.rx_queue(0).live());

  // The guest sends three packets; the backend's queue sees them through its own mapping.
  virtio::NetHeader hdr{};
  std::vector<uint8_t> bytes(12 + 60, 0x11);
  std::memcpy(bytes.data(), &hdr, sizeof(hdr));
  for (int i = 0; i < 3; ++i) {
    tx.publish(tx.add_chain({{guest_.put(bytes), static_cast<uint32_t>(bytes.size())}}));
  }
  net::PacketBatch batch;
  ASSERT_EQ(net::dequeue_burst(device_.tx_queue(0), device_.features(), batch), 3);
  EXPECT_EQ(batch.packets[0].len, 60u);
  net::complete_burst(device_.tx_queue(0), batch);
  EXPECT_EQ(tx.used_idx(), 3);
  EXPECT_EQ(call_.drain(), 1u);

  ASSERT_TRUE(request_state(Request::get_vring_base, 1, 0).ok());
  auto m = reply();
  ASSERT_TRUE(m.has_value());
  ASSERT_EQ(m->header.size, sizeof(VringState));
  auto state = m->read<VringState>();
  EXPECT_EQ(state.index, 1u);
  EXPECT_EQ(state.num, 3u);
  EXPECT_FALSE(device_.tx_queue(0).live());
}

TEST_F(BackendTest, RingsStartOnKickWithoutProtocolFeatures) {
  virtio::FakeRing rx(guest_, 32);
  negotiate(bit(virtio::kFVersion1));
  ASSERT_TRUE(set_mem_table(guest_).ok());
  set_up_ring(0, rx);
  EXPECT_TRUE(device_.rx_queue(0).live());
}

TEST_F(BackendTest, VringBaseResumesWhereTheDriverSays) {
  virtio::FakeRing tx(guest_, 16);
  negotiate();
  ASSERT_TRUE(set_mem_table(guest_).ok());
  // An earlier device completed the first 1000 buffers and handed the ring over.
  tx.set_avail_idx(1000);
  tx.set_used_idx(1000);
  set_up_ring(1, tx);
  ASSERT_TRUE(request_state(Request::set_vring_base, 1, 1000).ok());
  ASSERT_TRUE(request_state(Request::set_vring_enable, 1, 1).ok());
  ASSERT_TRUE(device_.tx_queue(0).live());
  EXPECT_EQ(device_.tx_queue(0).last_avail_idx(), 1000);
  EXPECT_EQ(device_.tx_queue(0).avail_count(), 0);
  EXPECT_FALSE(device_.tx_queue(0).broken());
}

TEST_F(BackendTest, AStaleVringBaseIsRefusedNotServed) {
  virtio::FakeRing tx(guest_, 16);
  negotiate();
  ASSERT_TRUE(set_mem_table(guest_).ok());
  // 1000 buffers came back to the driver, but the base handed over says only 990 were taken:
  // serving from 990 would complete ten of them a second time.
  tx.set_avail_idx(1004);
  tx.set_used_idx(1000);
  set_up_ring(1, tx);
  ASSERT_TRUE(request_state(Request::set_vring_base, 1, 990).ok());
  EXPECT_FALSE(request_state(Request::set_vring_enable, 1, 1).ok());
  EXPECT_FALSE(device_.tx_queue(0).live());
  EXPECT_EQ(tx.used_idx(), 1000);
  // The right base starts it.
  ASSERT_TRUE(request_state(Request::set_vring_base, 1, 1000).ok());
  EXPECT_TRUE(device_.tx_queue(0).live());
  EXPECT_EQ(device_.tx_queue(0).avail_count(), 4);
}

TEST_F(BackendTest, AStoppedRingWaitsForEnableBeforeItServesAgain) {
  virtio::FakeRing tx(guest_, 16);
  negotiate();
  ASSERT_TRUE(set_mem_table(guest_).ok());
  set_up_ring(1, tx);
  ASSERT_TRUE(request_state(Request::set_vring_enable, 1, 1).ok());
  ASSERT_TRUE(device_.tx_queue(0).live());
  ASSERT_TRUE(request_state(Request::get_vring_base, 1, 0).ok());
  ASSERT_TRUE(reply().has_value());
  EXPECT_FALSE(device_.tx_queue(0).live());
  // The next hand-over sets the ring up again; it must not start before SET_VRING_ENABLE.
  set_up_ring(1, tx);
  EXPECT_FALSE(device_.tx_queue(0).live());
  ASSERT_TRUE(request_state(Request::set_vring_enable, 1, 1).ok());
  EXPECT_TRUE(device_.tx_queue(0).live());
}

TEST_F(BackendTest, GetVringBaseWithNeedReplyRepliesOnlyOnce) {
  negotiate(kAckedFeatures, bit(protocol::kReplyAck));
  ASSERT_TRUE(request_state(Request::get_vring_base, 0, 0, kFlagNeedReply).ok());
  auto m = reply();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->request(), Request::get_vring_base);
  // The state is the reply; a second (ack) message would desynchronise the frontend.
  EXPECT_FALSE(reply().has_value());
}

TEST_F(BackendTest, ReplyAckReportsSuccessAndFailure) {
  negotiate(kAckedFeatures, bit(protocol::kReplyAck));
  ASSERT_TRUE(request_state(Request::set_vring_num, 0, 256, kFlagNeedReply).ok());
  EXPECT_EQ(reply_u64(), std::optional<uint64_t>(0));
  // An out-of-range index is reported in the ack; the connection stays up.
  ASSERT_TRUE(request_state(Request::set_vring_num, 40, 256, kFlagNeedReply).ok());
  auto failed = reply_u64();
  ASSERT_TRUE(failed.has_value());
  EXPECT_NE(*failed, 0u);
  ASSERT_TRUE(
      request_state(Request::set_vring_num, device_.vring_count(), 256, kFlagNeedReply).ok());
  EXPECT_NE(reply_u64().value_or(0), 0u);
  EXPECT_EQ(device_.stats().bad_messages.get(), 2u);
  // Without NEED_REPLY the same mistake drops the connection.
  Status s = request_state(Request::set_vring_num, 40, 256);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), ERANGE);
  EXPECT_FALSE(reply().has_value());
}

TEST_F(BackendTest, OutOfRangeVringIndexWithoutReplyAckIsAnError) {
  negotiate();
  for (Request r : {Request::set_vring_num, Request::set_vring_base, Request::get_vring_base,
                    Request::set_vring_enable}) {
    SCOPED_TRACE(to_string(r));
    Status s = request_state(r, device_.vring_count(), 1, kFlagNeedReply);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code(), ERANGE);
  }
  Status kick = request_u64(Request::set_vring_kick, 0xff | kVringNoFd);
  EXPECT_FALSE(kick.ok());
  EXPECT_FALSE(reply().has_value());
}

TEST_F(BackendTest, SetVringNumMustBeAPowerOfTwo) {
  negotiate();
  for (uint32_t bad : {0u, 3u, 100u, 65536u, 0x80000000u}) {
    SCOPED_TRACE(bad);
    Status s = request_state(Request::set_vring_num, 0, bad);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code(), EINVAL);
  }
  for (uint32_t good : {1u, 256u, 32768u}) {
    EXPECT_TRUE(request_state(Request::set_vring_num, 0, good).ok()) << good;
  }
}

TEST_F(BackendTest, SetVringEnableTakesZeroOrOne) {
  negotiate();
  EXPECT_TRUE(request_state(Request::set_vring_enable, 0, 1).ok());
  EXPECT_TRUE(request_state(Request::set_vring_enable, 0, 0).ok());
  EXPECT_FALSE(request_state(Request::set_vring_enable, 0, 2).ok());
}

TEST_F(BackendTest, RingOutsideGuestMemoryIsRefused) {
  virtio::FakeRing tx(guest_, 16);
  negotiate();
  ASSERT_TRUE(set_mem_table(guest_).ok());
  ASSERT_TRUE(request_state(Request::set_vring_num, 1, 16).ok());
  VringAddr a{1, 0, 0x10, guest_.user_addr(tx.used_gpa()), guest_.user_addr(tx.avail_gpa()), 0};
  ASSERT_TRUE(request(Request::set_vring_addr, &a, sizeof(a)).ok());  // not complete yet
  ASSERT_TRUE(request_u64(Request::set_vring_kick, 1, 0, {kick_.fd()}).ok());
  Status s = request_state(Request::set_vring_enable, 1, 1);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), EFAULT);
  EXPECT_FALSE(device_.tx_queue(0).live());
}

TEST_F(BackendTest, RingMisalignedInOurMappingIsRefused) {
  // The frontend's user address for the region is odd: a ring address that is aligned in its
  // address space would be misaligned in ours.
  virtio::FakeRing tx(guest_, 16);
  negotiate();
  MemTable t{};
  t.count = 1;
  t.regions[0] = guest_.regions()[0];
  t.regions[0].user_addr += 1;
  ASSERT_TRUE(
      request(Request::set_mem_table, &t, 8 + sizeof(virtio::RegionDescriptor), 0, {guest_.fd()})
          .ok());
  ASSERT_TRUE(request_state(Request::set_vring_num, 1, 16).ok());
  VringAddr a{1,
              0,
              guest_.user_addr(tx.desc_gpa()) + 16,
              guest_.user_addr(tx.used_gpa()) + 4,
              guest_.user_addr(tx.avail_gpa()) + 2,
              0};
  ASSERT_EQ(a.desc_user_addr % 16, 0u);
  ASSERT_TRUE(request(Request::set_vring_addr, &a, sizeof(a)).ok());
  ASSERT_TRUE(request_u64(Request::set_vring_kick, 1, 0, {kick_.fd()}).ok());
  Status s = request_state(Request::set_vring_enable, 1, 1);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), EFAULT);
  EXPECT_FALSE(device_.tx_queue(0).live());
}

TEST_F(BackendTest, MemoryTableBeyondTheFileIsRefused) {
  negotiate();
  MemTable t{};
  t.count = 1;
  t.regions[0] = guest_.regions()[0];
  t.regions[0].size *= 2;
  Status s =
      request(Request::set_mem_table, &t, 8 + sizeof(virtio::RegionDescriptor), 0, {guest_.fd()});
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(device_.memory_regions(), 0u);
}

TEST_F(BackendTest, NewMemoryTableWhileLiveRestartsTheQueue) {
  virtio::FakeRing tx(guest_, 16);
  negotiate();
  ASSERT_TRUE(set_mem_table(guest_).ok());
  set_up_ring(1, tx);
  ASSERT_TRUE(request_state(Request::set_vring_enable, 1, 1).ok());
  ASSERT_TRUE(device_.tx_queue(0).live());
  ASSERT_TRUE(set_mem_table(guest_).ok());
  EXPECT_TRUE(device_.tx_queue(0).live());
  EXPECT_EQ(device_.memory_regions(), 1u);
}

TEST_F(BackendTest, AddAndRemoveMemoryRegions) {
  negotiate(kAckedFeatures, bit(protocol::kConfigureMemSlots));
  virtio::FakeGuest second({{0x10000000, 0x10000}, {0x20000000, 0x10000}}, virtio::Backing::memfd);
  SingleRegion a{0, second.regions()[0]};
  SingleRegion b{0, second.regions()[1]};
  ASSERT_TRUE(request(Request::add_mem_reg, &a, sizeof(a), 0, {second.fd()}).ok());
  EXPECT_EQ(device_.memory_regions(), 1u);
  ASSERT_TRUE(request(Request::add_mem_reg, &b, sizeof(b), 0, {second.fd()}).ok());
  EXPECT_EQ(device_.memory_regions(), 2u);
  // Overlapping an existing region.
  SingleRegion overlap = a;
  overlap.region.guest_phys_addr += 0x1000;
  overlap.region.size = 0x1000;
  EXPECT_FALSE(request(Request::add_mem_reg, &overlap, sizeof(overlap), 0, {second.fd()}).ok());
  EXPECT_EQ(device_.memory_regions(), 2u);
  ASSERT_TRUE(request(Request::rem_mem_reg, &a, sizeof(a)).ok());
  EXPECT_EQ(device_.memory_regions(), 1u);
  Status again = request(Request::rem_mem_reg, &a, sizeof(a));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), ENOENT);
  ASSERT_TRUE(request(Request::rem_mem_reg, &b, sizeof(b), 0, {second.fd()}).ok());
  EXPECT_EQ(device_.memory_regions(), 0u);
}

// QEMU 7.2 with 2 queue pairs: one vhost device per pair on the socket, each adding the same
// regions and later removing them. The second add changes nothing (the queues keep running);
// the region goes with its last removal.
TEST_F(BackendTest, TheSameRegionAddedTwiceStaysUntilRemovedTwice) {
  virtio::FakeRing tx(guest_, 16);
  negotiate(kAckedFeatures, bit(protocol::kConfigureMemSlots));
  SingleRegion whole{0, guest_.regions()[0]};
  ASSERT_TRUE(request(Request::add_mem_reg, &whole, sizeof(whole), 0, {guest_.fd()}).ok());
  set_up_ring(1, tx);
  ASSERT_TRUE(request_state(Request::set_vring_enable, 1, 1).ok());
  ASSERT_TRUE(device_.tx_queue(0).live());
  uint64_t before = device_.stats().bad_messages.get();
  ASSERT_TRUE(request(Request::add_mem_reg, &whole, sizeof(whole), 0, {guest_.fd()}).ok());
  EXPECT_EQ(device_.memory_regions(), 1u);
  EXPECT_EQ(device_.stats().bad_messages.get(), before);
  EXPECT_TRUE(device_.tx_queue(0).live());
  ASSERT_TRUE(request(Request::rem_mem_reg, &whole, sizeof(whole)).ok());
  EXPECT_EQ(device_.memory_regions(), 1u);
  EXPECT_TRUE(device_.tx_queue(0).live());
  ASSERT_TRUE(request(Request::rem_mem_reg, &whole, sizeof(whole)).ok());
  EXPECT_EQ(device_.memory_regions(), 0u);
  EXPECT_FALSE(device_.tx_queue(0).live());  // its rings are in no memory now
  EXPECT_FALSE(request(Request::rem_mem_reg, &whole, sizeof(whole)).ok());
  // A table sent whole counts each region once.
  ASSERT_TRUE(set_mem_table(guest_).ok());
  ASSERT_TRUE(request(Request::rem_mem_reg, &whole, sizeof(whole)).ok());
  EXPECT_EQ(device_.memory_regions(), 0u);
}

TEST_F(BackendTest, AddMemRegBeyondTheSlotLimitIsRefused) {
  BackendConfig config;
  config.max_mem_slots = 2;
  VhostUserBackend small(config, nullptr);
  virtio::FakeGuest regions({{0x10000, 0x1000}, {0x20000, 0x1000}, {0x30000, 0x1000}},
                            virtio::Backing::memfd);
  for (uint32_t i = 0; i < 3; ++i) {
    SingleRegion r{0, regions.regions()[i]};
    int fd = regions.fd();
    ASSERT_TRUE(front_->send(Request::add_mem_reg, 0, &r, sizeof(r), &fd, 1).ok());
    auto m = back_->receive();
    ASSERT_TRUE(m.ok() && m->has_value());
    Status s = small.handle(**m, *back_);
    if (i < 2) {
      EXPECT_TRUE(s.ok()) << s.error().to_string();
    } else {
      ASSERT_FALSE(s.ok());
      EXPECT_EQ(s.error().code(), ENOSPC);
    }
  }
  EXPECT_EQ(small.memory_regions(), 2u);
}

TEST_F(BackendTest, FdsOfRejectedMessagesAreClosed) {
  negotiate();
  int before = count_open_fds();
  // Two fds for a one-region table.
  MemTable t{};
  t.count = 1;
  t.regions[0] = guest_.regions()[0];
  EXPECT_FALSE(request(Request::set_mem_table, &t, 8 + sizeof(virtio::RegionDescriptor), 0,
                       {guest_.fd(), guest_.fd()})
                   .ok());
  // An fd along with the "no fd" flag.
  EXPECT_FALSE(request_u64(Request::set_vring_call, 0 | kVringNoFd, 0, {call_.fd()}).ok());
  // A request we do not implement.
  EXPECT_FALSE(request_u64(Request::set_log_fd, 0, 0, {call_.fd()}).ok());
  // A well-formed table whose region lies beyond its file.
  t.regions[0].mmap_offset = guest_.regions()[0].size;
  EXPECT_FALSE(
      request(Request::set_mem_table, &t, 8 + sizeof(virtio::RegionDescriptor), 0, {guest_.fd()})
          .ok());
  EXPECT_EQ(count_open_fds(), before);
  EXPECT_EQ(device_.stats().bad_messages.get(), 4u);
}

TEST_F(BackendTest, UnsupportedRequestIsENOSYS) {
  Status s = request_u64(Request::set_log_fd, 0);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), ENOSYS);
}

TEST_F(BackendTest, NetSetMtu) {
  EXPECT_TRUE(request_u64(Request::net_set_mtu, 9000).ok());
  EXPECT_EQ(device_.mtu(), 9000u);
  EXPECT_FALSE(request_u64(Request::net_set_mtu, 67).ok());
  EXPECT_FALSE(request_u64(Request::net_set_mtu, 65536).ok());
  EXPECT_EQ(device_.mtu(), 9000u);
}

TEST_F(BackendTest, BrokenQueueShowsAsNeedsResetUntilTheBaseIsSetAgain) {
  virtio::FakeRing tx(guest_, 16);
  negotiate();
  ASSERT_TRUE(set_mem_table(guest_).ok());
  set_up_ring(1, tx);
  ASSERT_TRUE(request_state(Request::set_vring_enable, 1, 1).ok());
  ASSERT_TRUE(request_u64(Request::set_status, virtio::kStatusDriverOk).ok());
  EXPECT_EQ(get(Request::get_status), virtio::kStatusDriverOk);
  tx.set_avail_idx(100);  // more than the ring holds
  net::PacketBatch batch;
  EXPECT_EQ(net::dequeue_burst(device_.tx_queue(0), device_.features(), batch), 0);
  ASSERT_TRUE(device_.tx_queue(0).broken());
  EXPECT_EQ(get(Request::get_status), virtio::kStatusDriverOk | virtio::kStatusNeedsReset);
  tx.set_avail_idx(0);
  ASSERT_TRUE(request_state(Request::set_vring_base, 1, 0).ok());
  EXPECT_FALSE(device_.tx_queue(0).broken());
  EXPECT_TRUE(device_.tx_queue(0).live());
  EXPECT_EQ(get(Request::get_status), virtio::kStatusDriverOk);
}

TEST_F(BackendTest, DisconnectStopsEverything) {
  virtio::FakeRing rx(guest_, 16);
  negotiate();
  ASSERT_TRUE(set_mem_table(guest_).ok());
  set_up_ring(0, rx);
  ASSERT_TRUE(request_state(Request::set_vring_enable, 0, 1).ok());
  ASSERT_TRUE(device_.rx_queue(0).live());
  device_.disconnect();
  EXPECT_FALSE(device_.rx_queue(0).live());
  EXPECT_EQ(device_.memory_regions(), 0u);
  EXPECT_EQ(device_.acked_features(), 0u);
  EXPECT_EQ(device_.stats().disconnects.get(), 1u);
}

TEST_F(BackendTest, RingPackedIsOfferedAndChoosesThePackedQueues) {
  EXPECT_NE(get(Request::get_features) & bit(virtio::kFRingPacked), 0u);
  EXPECT_FALSE(device_.ring_packed());
  negotiate(kPackedFeatures);
  EXPECT_TRUE(device_.ring_packed());
  // A driver that negotiates again without it gets split rings back.
  negotiate(kAckedFeatures);
  EXPECT_FALSE(device_.ring_packed());
  negotiate(kPackedFeatures);
  device_.disconnect();
  EXPECT_FALSE(device_.ring_packed());
}

TEST_F(BackendTest, PackedRingSetupServesTrafficAndGetVringBaseReturnsThePosition) {
  // 12: not a power of two, which a packed ring may be.
  virtio::FakePackedRing tx(guest_, 12);
  negotiate(kPackedFeatures);
  ASSERT_TRUE(set_mem_table(guest_).ok());
  set_up_packed_ring(1, tx);
  ASSERT_TRUE(device_.tx_packed(0).live());
  EXPECT_FALSE(device_.tx_queue(0).live());
  EXPECT_FALSE(device_.rx_packed(0).live());

  // Five bursts of five packets: the ring of 12 wraps twice.
  for (int round = 0; round < 5; ++round) ASSERT_EQ(send_packed(tx, 5), 5);
  EXPECT_GE(call_.drain(), 1u);
  virtio::PackedPosition expected{1, true, 1, true};  // 25 = 2 laps + 1
  EXPECT_EQ(device_.tx_packed(0).position(), expected);

  auto base = get_vring_base(1);
  ASSERT_TRUE(base.has_value());
  EXPECT_EQ(*base, expected.to_vring_base());
  EXPECT_EQ(*base, 1u | 1u << 15 | 1u << 16 | 1u << 31);
  EXPECT_FALSE(device_.tx_packed(0).live());

  // A resume at that position (a new process, or the same one) goes on where the ring stands.
  set_up_packed_ring(1, tx, *base);
  ASSERT_TRUE(device_.tx_packed(0).live());
  EXPECT_EQ(device_.tx_packed(0).position(), expected);
  ASSERT_EQ(send_packed(tx, 7), 7);
  EXPECT_FALSE(device_.tx_packed(0).broken());
  // 32 in all: two laps and 8, wrap counter 1 again.
  EXPECT_EQ(get_vring_base(1), (virtio::PackedPosition{8, true, 8, true}.to_vring_base()));
}

TEST_F(BackendTest, PackedRingTakesTheAvailHalfOfTheBaseAlone) {
  // Frontends that send only bits 0-15 (DPDK's virtio_user): the used position is the same.
  virtio::FakePackedRing tx(guest_, 8);
  negotiate(kPackedFeatures);
  ASSERT_TRUE(set_mem_table(guest_).ok());
  tx.skip(5);  // an earlier device took and completed five
  set_up_packed_ring(1, tx, 5u | 1u << 15);
  ASSERT_TRUE(device_.tx_packed(0).live());
  EXPECT_EQ(device_.tx_packed(0).position(), (virtio::PackedPosition{5, true, 5, true}));
  EXPECT_EQ(get_vring_base(1), (virtio::PackedPosition{5, true, 5, true}.to_vring_base()));
}

TEST_F(BackendTest, PackedSetVringNumTakesAnySizeUpTo32768) {
  negotiate(kPackedFeatures);
  for (uint32_t good : {1u, 3u, 100u, 257u, 32768u}) {
    EXPECT_TRUE(request_state(Request::set_vring_num, 0, good).ok()) << good;
  }
  for (uint32_t bad : {0u, 32769u, 65536u, 0x80000000u}) {
    SCOPED_TRACE(bad);
    LogCapture log;
    Status s = request_state(Request::set_vring_num, 0, bad);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code(), EINVAL);
    EXPECT_THAT(s.error().message(), ::testing::HasSubstr("packed ring is outside 1-32768"));
  }
}

TEST_F(BackendTest, PackedSetVringBaseTakesAll32BitsSplitOnly16) {
  negotiate(kAckedFeatures);
  Status split = request_state(Request::set_vring_base, 0, 0x10000);
  ASSERT_FALSE(split.ok());
  EXPECT_EQ(split.error().code(), EINVAL);
  negotiate(kPackedFeatures);
  EXPECT_TRUE(request_state(Request::set_vring_base, 0, 0x80058005).ok());
  EXPECT_EQ(get_vring_base(0), 0x80058005u);
}

TEST_F(BackendTest, PackedBaseOutsideTheRingOrStaleIsRefused) {
  virtio::FakePackedRing tx(guest_, 8);
  negotiate(kPackedFeatures);
  ASSERT_TRUE(set_mem_table(guest_).ok());
  ASSERT_TRUE(request_state(Request::set_vring_num, 1, 8).ok());
  ASSERT_TRUE(set_packed_addr(1, tx).ok());
  ASSERT_TRUE(request_u64(Request::set_vring_kick, 1, 0, {kick_.fd()}).ok());
  struct Case {
    uint32_t base;
    const char* says;
  };
  for (Case c : {Case{8u | 1u << 15, "an index outside the ring"},
                 Case{3u | 1u << 15 | (5u | 1u << 15) << 16, "stale"},
                 Case{3u | 1u << 15 | 3u << 16, "stale"}}) {  // same index, other lap
    SCOPED_TRACE(c.base);
    ASSERT_TRUE(request_state(Request::set_vring_base, 1, c.base).ok());
    Status s = request_state(Request::set_vring_enable, 1, 1);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code(), EPROTO);
    EXPECT_THAT(s.error().message(), ::testing::StartsWith("vring 1: refusing to start a packed"));
    EXPECT_THAT(s.error().message(), ::testing::HasSubstr(c.says));
    EXPECT_FALSE(device_.tx_packed(0).live());
    // Enabled but not started: each change would try (and fail) again.
    ASSERT_TRUE(request_state(Request::set_vring_enable, 1, 0).ok());
  }
  // A good one starts it.
  ASSERT_TRUE(request_state(Request::set_vring_base, 1, 3u | 1u << 15).ok());
  ASSERT_TRUE(request_state(Request::set_vring_enable, 1, 1).ok());
  EXPECT_TRUE(device_.tx_packed(0).live());
}

TEST_F(BackendTest, PackedRingAddressesMisalignedOrOutsideMemoryAreRefused) {
  virtio::FakePackedRing tx(guest_, 8);
  negotiate(kPackedFeatures);
  ASSERT_TRUE(set_mem_table(guest_).ok());
  ASSERT_TRUE(request_state(Request::set_vring_num, 1, 8).ok());
  ASSERT_TRUE(request_u64(Request::set_vring_kick, 1, 0, {kick_.fd()}).ok());
  uint64_t desc = guest_.user_addr(tx.desc_gpa());
  uint64_t driver = guest_.user_addr(tx.driver_event_gpa());
  uint64_t device = guest_.user_addr(tx.device_event_gpa());
  uint64_t end =
      guest_.user_addr(virtio::FakeGuest::kDefaultBase + virtio::FakeGuest::kDefaultSize);
  struct Case {
    VringAddr addr;
    const char* says;
  };
  for (const Case& c : {Case{{1, 0, desc + 8, device, driver, 0}, "misaligned"},
                        Case{{1, 0, desc, device + 2, driver, 0}, "misaligned"},
                        Case{{1, 0, desc, device, driver + 1, 0}, "misaligned"},
                        Case{{1, 0, end - 64, device, driver, 0}, "outside guest memory"},
                        Case{{1, 0, desc, device, end, 0}, "outside guest memory"},
                        Case{{1, 0, desc, 0x10, driver, 0}, "outside guest memory"}}) {
    SCOPED_TRACE(c.says);
    ASSERT_TRUE(request(Request::set_vring_addr, &c.addr, sizeof(c.addr)).ok());
    Status s = request_state(Request::set_vring_enable, 1, 1);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code(), EFAULT);
    EXPECT_THAT(s.error().message(),
                ::testing::HasSubstr(std::string("packed ring addresses ") + c.says));
    EXPECT_FALSE(device_.tx_packed(0).live());
    ASSERT_TRUE(request_state(Request::set_vring_enable, 1, 0).ok());
  }
}

TEST_F(BackendTest, BrokenPackedQueueShowsAsNeedsResetUntilTheBaseIsSetAgain) {
  virtio::FakePackedRing tx(guest_, 8);
  negotiate(kPackedFeatures);
  ASSERT_TRUE(set_mem_table(guest_).ok());
  set_up_packed_ring(1, tx);
  ASSERT_TRUE(request_u64(Request::set_status, virtio::kStatusDriverOk).ok());
  // A buffer id beyond the ring.
  tx.write_desc(0, guest_.put(std::vector<uint8_t>(72, 0)), 72, 200, tx.avail_flags());
  net::PacketBatch batch;
  EXPECT_EQ(net::dequeue_burst(device_.tx_packed(0), device_.features(), batch), 0);
  ASSERT_TRUE(device_.tx_packed(0).broken());
  EXPECT_EQ(device_.tx_packed(0).stats().ring_errors.get(), 1u);
  EXPECT_EQ(get(Request::get_status), virtio::kStatusDriverOk | virtio::kStatusNeedsReset);
  tx.write_desc(0, 0, 0, 0, 0);
  ASSERT_TRUE(request_state(Request::set_vring_base, 1, kFreshPackedBase).ok());
  EXPECT_FALSE(device_.tx_packed(0).broken());
  EXPECT_TRUE(device_.tx_packed(0).live());
  EXPECT_EQ(get(Request::get_status), virtio::kStatusDriverOk);
}

TEST_F(BackendTest, PackedRxQueueDeliversIntoTheGuestsBuffers) {
  virtio::FakePackedRing rx(guest_, 16);
  virtio::FakePackedRing tx(guest_, 16);
  negotiate(kPackedFeatures | bit(virtio::kNetFMrgRxbuf) | bit(virtio::kFRingEventIdx));
  ASSERT_TRUE(set_mem_table(guest_).ok());
  set_up_packed_ring(0, rx);
  set_up_packed_ring(1, tx);
  // The guest's transmissions come back into its receive buffers.
  std::vector<uint64_t> buffers;
  for (int i = 0; i < 4; ++i) {
    buffers.push_back(guest_.alloc(2048));
    rx.offer({{buffers.back(), 2048, true}});
  }
  std::vector<uint8_t> frame(12 + 100);
  for (size_t i = 12; i < frame.size(); ++i) frame[i] = static_cast<uint8_t>(i);
  for (int i = 0; i < 3; ++i) tx.offer({{guest_.put(frame), static_cast<uint32_t>(frame.size())}});
  net::PacketBatch batch;
  ASSERT_EQ(net::dequeue_burst(device_.tx_packed(0), device_.features(), batch), 3);
  std::vector<uint16_t> which{0, 1, 2};
  EXPECT_EQ(net::enqueue_burst(device_.rx_packed(0), device_.features(), batch, which), 3);
  net::complete_burst(device_.tx_packed(0), batch);
  for (int i = 0; i < 3; ++i) {
    auto used = rx.take_used();
    ASSERT_TRUE(used.has_value());
    EXPECT_EQ(used->len, frame.size());
    EXPECT_EQ(guest_.read(buffers[used->id] + 12, 100),
              std::vector<uint8_t>(frame.begin() + 12, frame.end()));
  }
  EXPECT_FALSE(rx.take_used().has_value());
  EXPECT_EQ(device_.rx_packed(0).stats().packets.get(), 3u);
  EXPECT_EQ(device_.rx_packed(0).occupancy(), 1);
  EXPECT_EQ(device_.tx_packed(0).stats().packets.get(), 3u);
}

// ringlane died and came back: QEMU could not ask where the rings stood (GET_VRING_BASE) and
// hands over the last position it knew, the ring's start. The packed ring resumes where its own
// flags show the device stopped, and traffic flows; a split ring needs nothing of the sort (its
// used index is in guest memory).
TEST_F(BackendTest, APackedRingResumesWhereItsFlagsSayWhenTheFrontendSendsTheStart) {
  virtio::FakePackedRing tx(guest_, 8);
  negotiate(kPackedFeatures);
  ASSERT_TRUE(set_mem_table(guest_).ok());
  set_up_packed_ring(1, tx);
  ASSERT_EQ(send_packed(tx, 3), 3);
  device_.disconnect();  // the backend is gone; the driver's ring stays as it was
  negotiate(kPackedFeatures);
  ASSERT_TRUE(set_mem_table(guest_).ok());
  set_up_packed_ring(1, tx, kFreshPackedBase | kFreshPackedBase << 16);  // QEMU's 0x80008000
  ASSERT_TRUE(device_.tx_packed(0).live());
  EXPECT_EQ(device_.tx_packed(0).position(), (virtio::PackedPosition{3, true, 3, true}));
  ASSERT_EQ(send_packed(tx, 7), 7);  // across the end of the ring
  EXPECT_EQ(get_vring_base(1), virtio::PackedPosition({2, false, 2, false}).to_vring_base());
}

// A dirty log as QEMU shares it for a migration: a memfd, the bitmap at an offset into it.
class DirtyLogTest : public BackendTest {
 protected:
  static constexpr uint64_t kLogOffset = 256;
  // One bit per page of the fake guest (it ends at 2 MiB): 64 bytes.
  static constexpr uint64_t kLogSize =
      (virtio::FakeGuest::kDefaultBase + virtio::FakeGuest::kDefaultSize) / 4096 / 8;
  static constexpr uint64_t kLogging = kAckedFeatures | bit(virtio::kVhostFLogAll);

  void SetUp() override {
    BackendTest::SetUp();
    log_fd_.reset(::memfd_create("dirty-log", MFD_CLOEXEC));
    ASSERT_TRUE(log_fd_.valid());
    ASSERT_EQ(::ftruncate(log_fd_.get(), kLogOffset + kLogSize), 0);
  }
  Status set_log_base(uint64_t size = kLogSize, uint64_t offset = kLogOffset) {
    LogDescription d{size, offset};
    return request(Request::set_log_base, &d, sizeof(d), 0, {log_fd_.get()});
  }
  std::vector<uint8_t> bits() const {
    std::vector<uint8_t> b(kLogSize);
    EXPECT_EQ(::pread(log_fd_.get(), b.data(), b.size(), kLogOffset),
              static_cast<ssize_t>(b.size()));
    return b;
  }
  void clear_bits() const {
    std::vector<uint8_t> zero(kLogSize);
    EXPECT_EQ(::pwrite(log_fd_.get(), zero.data(), zero.size(), kLogOffset),
              static_cast<ssize_t>(zero.size()));
  }
  static bool marked(const std::vector<uint8_t>& b, uint64_t gpa) {
    uint64_t page = gpa >> 12;
    return (b[page / 8] >> (page % 8)) & 1;
  }
  static uint64_t count(const std::vector<uint8_t>& b) {
    uint64_t n = 0;
    for (uint8_t x : b) n += static_cast<uint64_t>(__builtin_popcount(x));
    return n;
  }
  // The guest sends `n` frames on pair 0 into its own receive buffers; returns the buffers'
  // and the sent frames' guest addresses (each in a page of its own).
  std::pair<std::vector<uint64_t>, std::vector<uint64_t>> loop_frames(virtio::FakeRing& rx,
                                                                      virtio::FakeRing& tx, int n) {
    std::vector<uint64_t> rx_bufs, tx_bufs;
    std::vector<uint8_t> frame(12 + 200, 0x5a);
    for (int i = 0; i < n; ++i) {
      rx_bufs.push_back(guest_.alloc(4096, 4096));
      rx.publish(rx.add_chain({{rx_bufs.back(), 4096, true}}));
      tx_bufs.push_back(guest_.alloc(4096, 4096));
      guest_.write(tx_bufs.back(), frame.data(), frame.size());
      tx.publish(tx.add_chain({{tx_bufs.back(), static_cast<uint32_t>(frame.size())}}));
    }
    net::PacketBatch batch;
    EXPECT_EQ(net::dequeue_burst(device_.tx_queue(0), device_.features(), batch), n);
    std::vector<uint16_t> which(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) which[static_cast<size_t>(i)] = static_cast<uint16_t>(i);
    EXPECT_EQ(net::enqueue_burst(device_.rx_queue(0), device_.features(), batch, which), n);
    net::complete_burst(device_.tx_queue(0), batch);
    return {rx_bufs, tx_bufs};
  }

  UniqueFd log_fd_;
};

TEST_F(DirtyLogTest, LogAllAndLogShmfdAreOffered) {
  EXPECT_NE(get(Request::get_features) & bit(virtio::kVhostFLogAll), 0u);
  EXPECT_NE(get(Request::get_protocol_features) & bit(protocol::kLogShmfd), 0u);
  EXPECT_NE(offered_net_features() & bit(virtio::kNetFGuestAnnounce), 0u);
}

TEST_F(DirtyLogTest, SetLogBaseRepliesWithoutPayloadAsQemuWaitsFor) {
  negotiate(kAckedFeatures, bit(protocol::kLogShmfd));
  ASSERT_TRUE(set_log_base().ok());
  auto m = reply();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->request(), Request::set_log_base);
  EXPECT_EQ(m->header.flags, kVersion | kFlagReply);
  EXPECT_EQ(m->header.size, 0u);
  EXPECT_FALSE(reply().has_value());
  // Shared but not acked: nothing logs yet.
  EXPECT_FALSE(device_.logging());
  negotiate(kLogging, bit(protocol::kLogShmfd));
  EXPECT_TRUE(device_.logging());
}

TEST_F(DirtyLogTest, BadLogsAreRefusedAndCounted) {
  negotiate(kLogging, 0);
  Status s = set_log_base();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), EPROTO);  // LOG_SHMFD not negotiated
  negotiate(kLogging, bit(protocol::kLogShmfd));
  EXPECT_FALSE(set_log_base(0).ok());
  EXPECT_FALSE(set_log_base(kLogSize + 1).ok());  // past the end of the file
  LogDescription d{kLogSize, kLogOffset};
  EXPECT_FALSE(request(Request::set_log_base, &d, sizeof(d)).ok());              // no fd
  EXPECT_FALSE(request(Request::set_log_base, &d, 8, 0, {log_fd_.get()}).ok());  // short payload
  EXPECT_FALSE(device_.logging());
  EXPECT_EQ(device_.stats().bad_messages.get(), 5u);
}

TEST_F(DirtyLogTest, ReceiveBuffersAndUsedRingsAreMarkedWhileLogging) {
  virtio::FakeRing rx(guest_, 16);
  virtio::FakeRing tx(guest_, 16);
  negotiate(kAckedFeatures, bit(protocol::kLogShmfd));
  ASSERT_TRUE(set_mem_table(guest_).ok());
  set_up_ring(0, rx);
  set_up_ring(1, tx);
  ASSERT_TRUE(request_state(Request::set_vring_enable, 0, 1).ok());
  ASSERT_TRUE(request_state(Request::set_vring_enable, 1, 1).ok());

  // Not logging yet: traffic leaves the bitmap alone.
  loop_frames(rx, tx, 2);
  EXPECT_EQ(count(bits()), 0u);

  // Migration starts as QEMU does it: the log, then LOG_ALL with the queues running.
  ASSERT_TRUE(set_log_base().ok());
  ASSERT_TRUE(reply().has_value());
  negotiate(kLogging, bit(protocol::kLogShmfd));
  ASSERT_TRUE(device_.rx_queue(0).live());
  ASSERT_TRUE(device_.tx_queue(0).live());
  clear_bits();  // as QEMU's first sync does
  auto [rx_bufs, tx_bufs] = loop_frames(rx, tx, 3);
  std::vector<uint8_t> b = bits();
  for (uint64_t gpa : rx_bufs) EXPECT_TRUE(marked(b, gpa)) << std::hex << gpa;
  // The device only read the sent frames.
  for (uint64_t gpa : tx_bufs) EXPECT_FALSE(marked(b, gpa)) << std::hex << gpa;
  EXPECT_TRUE(marked(b, rx.used_gpa()));
  EXPECT_TRUE(marked(b, tx.used_gpa()));
  // Nothing else: the rings' pages and the three buffers (the rings share the first pages).
  uint64_t ring_pages = 0;
  std::vector<uint8_t> rings(kLogSize);
  for (const virtio::FakeRing* r : {&rx, &tx}) {
    for (uint64_t gpa = r->used_gpa() & ~uint64_t{4095}; gpa < r->used_gpa() + 4 + 8 * 16 + 2;
         gpa += 4096) {
      uint64_t page = gpa >> 12;
      rings[page / 8] = static_cast<uint8_t>(rings[page / 8] | (1u << (page % 8)));
    }
  }
  ring_pages = count(rings);
  EXPECT_EQ(count(b), 3 + ring_pages);
  // The queues count the pages their bursts marked (not the rings marked when logging began).
  EXPECT_EQ(
      device_.rx_queue(0).stats().dirty_pages.get() + device_.tx_queue(0).stats().dirty_pages.get(),
      count(b));

  // Migration over (or cancelled): LOG_ALL off, nothing is marked any more.
  negotiate(kAckedFeatures, bit(protocol::kLogShmfd));
  EXPECT_FALSE(device_.logging());
  clear_bits();
  loop_frames(rx, tx, 2);
  EXPECT_EQ(count(bits()), 0u);
}

TEST_F(DirtyLogTest, PackedReceiveBuffersAndTheDescriptorRingAreMarked) {
  virtio::FakePackedRing rx(guest_, 16);
  virtio::FakePackedRing tx(guest_, 16);
  negotiate(kPackedFeatures | bit(virtio::kVhostFLogAll), bit(protocol::kLogShmfd));
  ASSERT_TRUE(set_mem_table(guest_).ok());
  ASSERT_TRUE(set_log_base().ok());
  ASSERT_TRUE(reply().has_value());
  set_up_packed_ring(0, rx);
  set_up_packed_ring(1, tx);
  clear_bits();
  std::vector<uint64_t> rx_bufs, tx_bufs;
  std::vector<uint8_t> frame(12 + 100, 0x33);
  for (int i = 0; i < 2; ++i) {
    rx_bufs.push_back(guest_.alloc(4096, 4096));
    rx.offer({{rx_bufs.back(), 4096, true}});
    tx_bufs.push_back(guest_.alloc(4096, 4096));
    guest_.write(tx_bufs.back(), frame.data(), frame.size());
    tx.offer({{tx_bufs.back(), static_cast<uint32_t>(frame.size())}});
  }
  net::PacketBatch batch;
  ASSERT_EQ(net::dequeue_burst(device_.tx_packed(0), device_.features(), batch), 2);
  std::vector<uint16_t> which{0, 1};
  ASSERT_EQ(net::enqueue_burst(device_.rx_packed(0), device_.features(), batch, which), 2);
  net::complete_burst(device_.tx_packed(0), batch);
  std::vector<uint8_t> b = bits();
  for (uint64_t gpa : rx_bufs) EXPECT_TRUE(marked(b, gpa)) << std::hex << gpa;
  for (uint64_t gpa : tx_bufs) EXPECT_FALSE(marked(b, gpa)) << std::hex << gpa;
  EXPECT_TRUE(marked(b, rx.desc_gpa()));
  EXPECT_TRUE(marked(b, tx.desc_gpa()));
  EXPECT_TRUE(marked(b, rx.device_event_gpa()));
  EXPECT_GT(device_.rx_packed(0).stats().dirty_pages.get(), 2u);
}

TEST_F(DirtyLogTest, DisconnectDropsTheLog) {
  negotiate(kLogging, bit(protocol::kLogShmfd));
  ASSERT_TRUE(set_log_base().ok());
  EXPECT_TRUE(device_.logging());
  device_.disconnect();
  EXPECT_FALSE(device_.logging());
}

}  // namespace
}  // namespace ringlane::vhost_user
