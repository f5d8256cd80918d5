// place_packed_rings and check_packed_resume_position: a packed ring is used only where its
// ring and event areas are aligned and wholly inside guest memory, and only from a position
// that can be right.
#include "ringlane/virtio/packed_ring_placement.h"

#include <gtest/gtest.h>

#include "fake_guest.h"
#include "fake_packed_ring.h"

namespace ringlane::virtio {
namespace {

constexpr uint16_t kSize = 300;  // packed rings need not be powers of two

RingAddresses place_in(FakeGuest& guest) {
  RingAddresses r;
  r.desc = guest.alloc(packed_ring_bytes(kSize), 16);
  r.avail = guest.alloc(sizeof(PackedEventSuppress), 4);
  r.used = guest.alloc(sizeof(PackedEventSuppress), 4);
  return r;
}

TEST(PlacePackedRings, GuestPhysicalAndFrontendVirtualFindTheSameBytes) {
  FakeGuest guest;
  RingAddresses gpa = place_in(guest);
  RingAddresses uva{guest.user_addr(gpa.desc), guest.user_addr(gpa.avail),
                    guest.user_addr(gpa.used)};
  PackedRingPlacement a =
      place_packed_rings(guest.memory(), RingAddressSpace::guest_physical, gpa, kSize);
  PackedRingPlacement b =
      place_packed_rings(guest.memory(), RingAddressSpace::frontend_virtual, uva, kSize);
  ASSERT_EQ(a.fault, RingFault::none);
  ASSERT_EQ(b.fault, RingFault::none);
  EXPECT_EQ(a.layout.size, kSize);
  EXPECT_EQ(reinterpret_cast<uint8_t*>(a.layout.desc), guest.host(gpa.desc));
  EXPECT_EQ(reinterpret_cast<uint8_t*>(a.layout.driver_event), guest.host(gpa.avail));
  EXPECT_EQ(reinterpret_cast<uint8_t*>(a.layout.device_event), guest.host(gpa.used));
  EXPECT_EQ(b.layout.desc, a.layout.desc);
  EXPECT_EQ(b.layout.driver_event, a.layout.driver_event);
  EXPECT_EQ(b.layout.device_event, a.layout.device_event);
}

TEST(PlacePackedRings, RefusesMisalignedOrOutsideMemory) {
  FakeGuest guest;
  RingAddresses r = place_in(guest);
  for (RingAddresses bad :
       {RingAddresses{r.desc + 8, r.avail, r.used}, RingAddresses{r.desc, r.avail + 2, r.used},
        RingAddresses{r.desc, r.avail, r.used + 1}}) {
    EXPECT_EQ(
        place_packed_rings(guest.memory(), RingAddressSpace::guest_physical, bad, kSize).fault,
        RingFault::misaligned);
  }
  uint64_t end = FakeGuest::kDefaultBase + FakeGuest::kDefaultSize;
  for (RingAddresses bad :
       {RingAddresses{end - uint64_t{16} * 100, r.avail, r.used},
        RingAddresses{r.desc, end, r.used}, RingAddresses{r.desc, r.avail, 0x1000}}) {
    EXPECT_EQ(
        place_packed_rings(guest.memory(), RingAddressSpace::guest_physical, bad, kSize).fault,
        RingFault::outside_memory);
  }
}

TEST(CheckPackedResumePosition, OnlyAPositionInsideTheRingWithNothingInFlight) {
  EXPECT_TRUE(check_packed_resume_position(PackedPosition{}, kSize).ok());
  EXPECT_TRUE(check_packed_resume_position(PackedPosition{299, false, 299, false}, kSize).ok());
  Status outside = check_packed_resume_position(PackedPosition{300, true, 300, true}, kSize);
  ASSERT_FALSE(outside.ok());
  EXPECT_EQ(outside.error().message(),
            "refusing to start a packed ring of 300 descriptors at avail 300 (wrap 1), used 300 "
            "(wrap 1): an index outside the ring");
  Status stale = check_packed_resume_position(PackedPosition{5, true, 3, true}, kSize);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().message(),
            "refusing to start a packed ring at avail 5 (wrap 1) with used 3 (wrap 1): the "
            "position handed over is stale, and starting there would complete buffers twice or "
            "never");
  EXPECT_FALSE(check_packed_resume_position(PackedPosition{5, true, 5, false}, kSize).ok());
}

// The device side of `n` one-descriptor chains the driver offered: taken, used, published.
void serve(PackedQueue& queue, FakePackedRing& ring, FakeGuest& guest, int n) {
  for (int i = 0; i < n; ++i) ring.offer({{guest.alloc(64), 64}});
  uint16_t found = queue.avail_count(static_cast<uint16_t>(n));
  ASSERT_EQ(found, n);
  for (uint16_t i = 0; i < found; ++i) queue.put_used(queue.head_at(i), 0);
  queue.consume(found);
  queue.publish_used();
  for (int i = 0; i < n; ++i) ASSERT_TRUE(ring.take_used().has_value());
}

TEST(PackedPositionFromRing, TheUsedBitsShowWhereTheDeviceStopped) {
  FakeGuest guest({{0, 1 << 20}});
  FakePackedRing ring(guest, 8);
  PackedQueue queue;
  queue.configure(&guest.memory(), ring.layout(), false, true, PackedPosition{});
  // A fresh ring: the start.
  EXPECT_EQ(packed_position_from_ring(ring.layout()), (PackedPosition{0, true, 0, true}));
  serve(queue, ring, guest, 3);
  EXPECT_EQ(queue.position(), (PackedPosition{3, true, 3, true}));
  EXPECT_EQ(packed_position_from_ring(ring.layout()), queue.position());
  // Buffers offered and not taken yet do not move it; neither do slots offered again.
  for (int i = 0; i < 4; ++i) ring.offer({{guest.alloc(64), 64}});
  EXPECT_EQ(packed_position_from_ring(ring.layout()), queue.position());
  // Past the end of the ring: the second lap's wrap counter, 0.
  uint16_t found = queue.avail_count(4);
  ASSERT_EQ(found, 4);
  for (uint16_t i = 0; i < found; ++i) queue.put_used(queue.head_at(i), 0);
  queue.consume(found);
  queue.publish_used();
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(ring.take_used().has_value());
  serve(queue, ring, guest, 3);
  EXPECT_EQ(queue.position(), (PackedPosition{2, false, 2, false}));
  EXPECT_EQ(packed_position_from_ring(ring.layout()), queue.position());
  // A whole lap used and nothing offered again: the start of the next lap.
  serve(queue, ring, guest, 6);
  EXPECT_EQ(queue.position(), (PackedPosition{0, true, 0, true}));
  EXPECT_EQ(packed_position_from_ring(ring.layout()), queue.position());
}

TEST(PackedPositionFromRing, AChainOfSeveralDescriptorsLeavesNoSinglePicture) {
  FakeGuest guest({{0, 1 << 20}});
  FakePackedRing ring(guest, 8);
  PackedQueue queue;
  queue.configure(&guest.memory(), ring.layout(), false, true, PackedPosition{});
  ring.offer({{guest.alloc(64), 64}});
  ring.offer({{guest.alloc(64), 64}, {guest.alloc(64), 64}});  // slots 1 and 2
  ring.offer({{guest.alloc(64), 64}});
  uint16_t found = queue.avail_count(3);
  ASSERT_EQ(found, 3);
  for (uint16_t i = 0; i < found; ++i) queue.put_used(queue.head_at(i), 0);
  queue.consume(found);
  queue.publish_used();
  // Used: slot 0, slot 1 (the chain's used descriptor), slot 3; slot 2 keeps the driver's flags.
  EXPECT_EQ(queue.position(), (PackedPosition{4, true, 4, true}));
  EXPECT_EQ(packed_position_from_ring(ring.layout()), std::nullopt);
  PackedRingLayout none;
  EXPECT_EQ(packed_position_from_ring(none), std::nullopt);
}

}  // namespace
}  // namespace ringlane::virtio
