// place_packed_rings and check_packed_resume_position: a packed ring is used only where its
// ring and event areas are aligned and wholly inside guest memory, and only from a position
// that can be right.
#include "ringlane/virtio/packed_ring_placement.h"

#include <gtest/gtest.h>

#include "fake_guest.h"

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

}  // namespace
}  // namespace ringlane::virtio
