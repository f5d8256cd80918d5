// NetDevice: the vhost-user-net device names each of its virtqueues as the frontend numbers
// them, so a broken queue's log line says which port and which queue.
#include "ringlane/vhost_user/net_device.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "fake_guest.h"
#include "fake_packed_ring.h"
#include "log_capture.h"
#include "ringlane/net/tx.h"

namespace ringlane::vhost_user {
namespace {

// An operator with many VMs must learn from the log line which port and queue broke; the
// counter is per queue already.
TEST(NetDeviceQueues, BrokenQueueLogLinesNameThePortAndTheQueue) {
  NetDeviceConfig config;
  config.name = "vm7";
  config.max_queue_pairs = 2;
  NetDevice device(config, nullptr);
  virtio::FakeGuest guest;
  virtio::FakeRing jumped(guest, 8);
  virtio::FakeRing looped(guest, 8);
  virtio::SplitQueue& pair1_tx = device.tx_queue(1);  // virtqueue 3
  virtio::SplitQueue& pair0_tx = device.tx_queue(0);  // virtqueue 1
  pair1_tx.configure(&guest.memory(), jumped.layout(), false, false, 0);
  pair0_tx.configure(&guest.memory(), looped.layout(), false, false, 0);
  jumped.set_avail_idx(9);  // more than the ring holds
  uint16_t loop = looped.reserve(1);
  looped.set_desc(loop, guest.put(std::vector<uint8_t>(64, 0x5a)), 64, virtio::kDescFNext, loop);
  looped.publish(loop);

  LogCapture log;
  net::NetFeatures features = net::NetFeatures::from_bits(virtio::bit(virtio::kFVersion1));
  net::PacketBatch batch;
  EXPECT_EQ(net::dequeue_burst(pair1_tx, features, batch), 0);
  EXPECT_EQ(net::dequeue_burst(pair0_tx, features, batch), 0);
  ASSERT_TRUE(pair1_tx.broken());
  ASSERT_TRUE(pair0_tx.broken());
  EXPECT_EQ(pair1_tx.stats().ring_errors.get(), 1u);
  EXPECT_EQ(pair0_tx.stats().ring_errors.get(), 1u);
  EXPECT_EQ(device.rx_queue(0).stats().ring_errors.get(), 0u);
  ASSERT_EQ(log.lines().size(), 2u);
  EXPECT_THAT(log.lines()[0], ::testing::StartsWith("vm7 queue 3 (tx of pair 1): "));
  EXPECT_THAT(log.lines()[0], ::testing::HasSubstr("virtqueue broken: avail index jumped"));
  EXPECT_THAT(log.lines()[1], ::testing::StartsWith("vm7 queue 1 (tx of pair 0): "));
  EXPECT_THAT(log.lines()[1], ::testing::HasSubstr("virtqueue broken: descriptor loop"));
}

TEST(NetDeviceQueues, BrokenPackedQueueLogLinesNameThePortAndTheQueue) {
  NetDeviceConfig config;
  config.name = "vm8";
  config.max_queue_pairs = 2;
  NetDevice device(config, nullptr);
  virtio::FakeGuest guest;
  virtio::FakePackedRing ring(guest, 8);
  virtio::PackedQueue& pair1_tx = device.tx_packed(1);  // virtqueue 3
  pair1_tx.configure(&guest.memory(), ring.layout(), false, false, virtio::PackedPosition{});
  pair1_tx.set_live(true);
  ring.write_desc(0, guest.put(std::vector<uint8_t>(64, 0)), 64, 9, ring.avail_flags());

  LogCapture log;
  net::NetFeatures features = net::NetFeatures::from_bits(virtio::bit(virtio::kFVersion1));
  net::PacketBatch batch;
  EXPECT_EQ(net::dequeue_burst(pair1_tx, features, batch), 0);
  ASSERT_TRUE(pair1_tx.broken());
  EXPECT_EQ(pair1_tx.stats().ring_errors.get(), 1u);
  EXPECT_EQ(device.tx_queue(1).stats().ring_errors.get(), 0u);
  ASSERT_EQ(log.lines().size(), 1u);
  EXPECT_THAT(log.lines()[0], ::testing::StartsWith("vm8 queue 3 (tx of pair 1): "));
  EXPECT_THAT(log.lines()[0], ::testing::HasSubstr("virtqueue broken: buffer id 9 out of range"));
}

// Packed rings for net ports; disks keep split rings (no packed in-flight region).
TEST(NetDeviceFeatures, RingPackedIsOfferedAndNamed) {
  EXPECT_NE(offered_net_features() & virtio::bit(virtio::kFRingPacked), 0u);
  EXPECT_EQ(net_feature_names(virtio::bit(virtio::kFVersion1) | virtio::bit(virtio::kFRingPacked)),
            "version_1 ring_packed");
}

}  // namespace
}  // namespace ringlane::vhost_user
