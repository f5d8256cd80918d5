// place_split_rings: the rings a driver or a frontend places are used only when aligned and wholly
// inside guest memory, in either address space.
#include "ringlane/virtio/ring_placement.h"

#include <gtest/gtest.h>

#include "fake_guest.h"

namespace ringlane::virtio {
namespace {

constexpr uint16_t kSize = 256;

struct Rings {
  RingAddresses gpa;
  RingAddresses uva;
};

Rings place_in(FakeGuest& guest) {
  Rings r;
  r.gpa.desc = guest.alloc(desc_table_bytes(kSize), 16);
  r.gpa.avail = guest.alloc(avail_ring_bytes(kSize), 2);
  r.gpa.used = guest.alloc(used_ring_bytes(kSize), 4);
  r.uva = {guest.user_addr(r.gpa.desc), guest.user_addr(r.gpa.avail), guest.user_addr(r.gpa.used)};
  return r;
}

TEST(PlaceSplitRings, GuestPhysicalAndFrontendVirtualFindTheSameBytes) {
  FakeGuest guest;
  Rings r = place_in(guest);
  RingPlacement by_gpa =
      place_split_rings(guest.memory(), RingAddressSpace::guest_physical, r.gpa, kSize);
  RingPlacement by_uva =
      place_split_rings(guest.memory(), RingAddressSpace::frontend_virtual, r.uva, kSize);
  ASSERT_EQ(by_gpa.fault, RingFault::none);
  ASSERT_EQ(by_uva.fault, RingFault::none);
  EXPECT_EQ(by_gpa.layout.size, kSize);
  EXPECT_EQ(reinterpret_cast<uint8_t*>(by_gpa.layout.desc), guest.host(r.gpa.desc));
  EXPECT_EQ(reinterpret_cast<uint8_t*>(by_gpa.layout.avail), guest.host(r.gpa.avail));
  EXPECT_EQ(reinterpret_cast<uint8_t*>(by_gpa.layout.used), guest.host(r.gpa.used));
  EXPECT_EQ(by_uva.layout.desc, by_gpa.layout.desc);
  EXPECT_EQ(by_uva.layout.avail, by_gpa.layout.avail);
  EXPECT_EQ(by_uva.layout.used, by_gpa.layout.used);
}

TEST(PlaceSplitRings, RefusesMisalignedRings) {
  FakeGuest guest;
  Rings r = place_in(guest);
  for (RingAddresses bad : {RingAddresses{r.gpa.desc + 8, r.gpa.avail, r.gpa.used},
                            RingAddresses{r.gpa.desc, r.gpa.avail + 1, r.gpa.used},
                            RingAddresses{r.gpa.desc, r.gpa.avail, r.gpa.used + 2}}) {
    EXPECT_EQ(place_split_rings(guest.memory(), RingAddressSpace::guest_physical, bad, kSize).fault,
              RingFault::misaligned);
  }
}

TEST(PlaceSplitRings, RefusesRingsOutsideOrAcrossTheEndOfMemory) {
  FakeGuest guest;
  Rings r = place_in(guest);
  uint64_t end = FakeGuest::kDefaultBase + FakeGuest::kDefaultSize;
  for (RingAddresses bad :
       {RingAddresses{0, r.gpa.avail, r.gpa.used}, RingAddresses{r.gpa.desc, end - 16, r.gpa.used},
        RingAddresses{r.gpa.desc, r.gpa.avail, end}}) {
    EXPECT_EQ(place_split_rings(guest.memory(), RingAddressSpace::guest_physical, bad, kSize).fault,
              RingFault::outside_memory);
  }
  // A guest-physical address is not a frontend address, nor the other way round.
  EXPECT_EQ(
      place_split_rings(guest.memory(), RingAddressSpace::frontend_virtual, r.gpa, kSize).fault,
      RingFault::outside_memory);
  EXPECT_EQ(place_split_rings(guest.memory(), RingAddressSpace::guest_physical, r.uva, kSize).fault,
            RingFault::outside_memory);
}

}  // namespace
}  // namespace ringlane::virtio
