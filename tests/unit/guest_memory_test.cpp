// GuestMemory and MappedRegion: every guest address the data path touches goes through these
// range checks, so each boundary (region ends, gaps, overflow, overlap, region count) is pinned.
#include "ringlane/virtio/guest_memory.h"

#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace ringlane::virtio {
namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

// Regions over plain heap buffers; each has its own buffer so host addresses are distinct.
class Regions {
 public:
  std::shared_ptr<const MappedRegion> add(uint64_t gpa, uint64_t size, uint64_t uva = 0) {
    buffers_.emplace_back(size);
    return MappedRegion::wrap(RegionDescriptor{gpa, size, uva, 0}, buffers_.back().data());
  }
  uint8_t* host(size_t i) { return buffers_[i].data(); }

 private:
  std::vector<std::vector<uint8_t>> buffers_;
};

TEST(GuestMemory, TranslatesOnlyRangesInsideOneRegion) {
  Regions r;
  auto mem = GuestMemory::create({r.add(0x1000, 0x1000)});
  ASSERT_TRUE(mem.ok());
  EXPECT_EQ(mem->translate(0x1000, 0x1000), r.host(0));
  EXPECT_EQ(mem->translate(0x1800, 0x10), r.host(0) + 0x800);
  EXPECT_EQ(mem->translate(0x1fff, 1), r.host(0) + 0xfff);
  EXPECT_EQ(mem->translate(0x1fff, 2), nullptr);  // one byte past the end
  EXPECT_EQ(mem->translate(0x1000, 0x1001), nullptr);
  EXPECT_EQ(mem->translate(0x0fff, 1), nullptr);  // just below
  EXPECT_EQ(mem->translate(0x2000, 1), nullptr);  // just above
  EXPECT_EQ(mem->translate(0, 0x10), nullptr);
}

TEST(GuestMemory, RangeAcrossAdjacentRegionsIsSplitNotTranslated) {
  Regions r;
  auto mem = GuestMemory::create({r.add(0x2000, 0x1000), r.add(0x1000, 0x1000)});
  ASSERT_TRUE(mem.ok());
  EXPECT_EQ(mem->translate(0x1ff0, 0x20), nullptr);
  EXPECT_TRUE(mem->contains(0x1ff0, 0x20));
  EXPECT_TRUE(mem->contains(0x1000, 0x2000));
  HostSpan spans[4];
  ASSERT_EQ(mem->translate_spans(0x1ff0, 0x20, spans), 2u);
  EXPECT_EQ(spans[0].data, r.host(1) + 0xff0);
  EXPECT_EQ(spans[0].len, 0x10u);
  EXPECT_EQ(spans[1].data, r.host(0));
  EXPECT_EQ(spans[1].len, 0x10u);
  // Too little room for the spans is a failure, not a truncated answer.
  EXPECT_EQ(mem->translate_spans(0x1ff0, 0x20, std::span(spans, 1)), 0u);
}

TEST(GuestMemory, GapsAreUnmapped) {
  Regions r;
  auto mem = GuestMemory::create({r.add(0x1000, 0x1000), r.add(0x3000, 0x1000)});
  ASSERT_TRUE(mem.ok());
  EXPECT_EQ(mem->translate(0x2800, 1), nullptr);
  EXPECT_FALSE(mem->contains(0x2800, 1));
  EXPECT_FALSE(mem->contains(0x1ff0, 0x20));
  EXPECT_FALSE(mem->contains(0x1000, 0x3000));  // both regions but the gap too
  HostSpan spans[4];
  EXPECT_EQ(mem->translate_spans(0x1ff0, 0x20, spans), 0u);
  EXPECT_EQ(mem->translate_spans(0x1000, 0x3000, spans), 0u);
  EXPECT_TRUE(mem->contains(0x3000, 0x1000));
}

TEST(GuestMemory, LengthThatOverflowsIsRejected) {
  // A region at the very top and one at zero: a range that wraps around 2^64 would otherwise
  // look contiguous.
  Regions r;
  auto mem = GuestMemory::create({r.add(0, 0x1000), r.add(kMax - 0xfff, 0x1000)});
  ASSERT_TRUE(mem.ok());
  EXPECT_EQ(mem->translate(kMax - 0x7ff, 0x800), r.host(1) + 0x800);
  EXPECT_EQ(mem->translate(kMax - 0x7ff, 0x1000), nullptr);
  EXPECT_FALSE(mem->contains(kMax - 0x7ff, 0x1000));
  HostSpan spans[4];
  EXPECT_EQ(mem->translate_spans(kMax - 0x7ff, 0x1000, spans), 0u);
  EXPECT_EQ(mem->translate(0x800, kMax), nullptr);
  EXPECT_FALSE(mem->contains(0x800, kMax));
  EXPECT_EQ(mem->translate_spans(0x800, kMax, spans), 0u);
}

TEST(GuestMemory, OverlappingRegionsAreRejected) {
  Regions r;
  auto partial = GuestMemory::create({r.add(0x1000, 0x2000), r.add(0x2000, 0x2000)});
  ASSERT_FALSE(partial.ok());
  EXPECT_EQ(partial.error().code(), EINVAL);
  EXPECT_FALSE(GuestMemory::create({r.add(0x1000, 0x4000), r.add(0x2000, 0x1000)}).ok());
  EXPECT_FALSE(GuestMemory::create({r.add(0x1000, 0x1000), r.add(0x1000, 0x1000)}).ok());
  // Overlap with a non-neighbour once sorted.
  EXPECT_FALSE(
      GuestMemory::create({r.add(0x9000, 0x1000), r.add(0x1000, 0x9000), r.add(0x5000, 0x100)})
          .ok());
  EXPECT_TRUE(GuestMemory::create({r.add(0x1000, 0x1000), r.add(0x2000, 0x1000)}).ok());
}

std::vector<std::shared_ptr<const MappedRegion>> many_regions(uint32_t count,
                                                              std::vector<uint8_t>& backing) {
  backing.assign(uint64_t{count} * 0x100, 0);
  std::vector<std::shared_ptr<const MappedRegion>> regions;
  for (uint32_t i = 0; i < count; ++i) {
    // 0x100 bytes every 0x1000: gaps between all regions.
    RegionDescriptor d{0x100000 + uint64_t{i} * 0x1000, 0x100, 0x7f0000000000 + i * 0x100ull, 0};
    regions.push_back(MappedRegion::wrap(d, backing.data() + uint64_t{i} * 0x100));
  }
  return regions;
}

TEST(GuestMemory, MoreThanMaxRegionsAreRejected) {
  std::vector<uint8_t> backing;
  auto mem = GuestMemory::create(many_regions(GuestMemory::kMaxRegions + 1, backing));
  ASSERT_FALSE(mem.ok());
  EXPECT_EQ(mem.error().code(), E2BIG);
}

TEST(GuestMemory, MaxRegionsLookUpCorrectlyInAnyOrder) {
  std::vector<uint8_t> backing;
  auto regions = many_regions(GuestMemory::kMaxRegions, backing);
  std::shuffle(regions.begin(), regions.end(), std::mt19937(42));
  auto mem = GuestMemory::create(regions);
  ASSERT_TRUE(mem.ok());
  ASSERT_EQ(mem->region_count(), GuestMemory::kMaxRegions);
  for (uint32_t i : {0u, GuestMemory::kMaxRegions / 2, GuestMemory::kMaxRegions - 1}) {
    uint64_t gpa = 0x100000 + uint64_t{i} * 0x1000;
    SCOPED_TRACE(i);
    EXPECT_EQ(mem->translate(gpa, 0x100), backing.data() + i * 0x100);
    EXPECT_EQ(mem->translate(gpa + 0xff, 1), backing.data() + i * 0x100 + 0xff);
    EXPECT_EQ(mem->translate(gpa + 0x100, 1), nullptr);  // the gap after it
    EXPECT_EQ(mem->translate(gpa - 1, 1), nullptr);      // the gap before it
    EXPECT_EQ(mem->translate(gpa + 0x80, 0x81), nullptr);
  }
  for (uint32_t i = 0; i < GuestMemory::kMaxRegions; ++i) {
    ASSERT_EQ(mem->translate(0x100000 + uint64_t{i} * 0x1000 + 7, 1),
              backing.data() + i * 0x100 + 7)
        << "region " << i;
  }
  EXPECT_EQ(mem->translate(0xfffff, 1), nullptr);
  EXPECT_EQ(mem->translate(0x100000 + uint64_t{GuestMemory::kMaxRegions} * 0x1000, 1), nullptr);
  EXPECT_EQ(mem->translate(kMax, 1), nullptr);
  EXPECT_EQ(mem->translate(0, 1), nullptr);
  EXPECT_EQ(mem->translate_user_addr(0x7f0000000000 + 300 * 0x100 + 5, 4),
            backing.data() + 300 * 0x100 + 5);
}

TEST(GuestMemory, TranslatesFrontendVirtualAddresses) {
  Regions r;
  // User addresses ordered differently from guest addresses.
  auto mem =
      GuestMemory::create({r.add(0x1000, 0x1000, 0x900000), r.add(0x4000, 0x2000, 0x100000)});
  ASSERT_TRUE(mem.ok());
  EXPECT_EQ(mem->translate_user_addr(0x900000, 0x1000), r.host(0));
  EXPECT_EQ(mem->translate_user_addr(0x100010, 0x10), r.host(1) + 0x10);
  EXPECT_EQ(mem->translate_user_addr(0x101fff, 1), r.host(1) + 0x1fff);
  EXPECT_EQ(mem->translate_user_addr(0x101fff, 2), nullptr);
  EXPECT_EQ(mem->translate_user_addr(0x102000, 1), nullptr);
  EXPECT_EQ(mem->translate_user_addr(0x0fffff, 1), nullptr);
  EXPECT_EQ(mem->translate_user_addr(0x900000, kMax), nullptr);
  EXPECT_EQ(mem->translate_user_addr(0x1000, 1), nullptr);  // a guest address is not a user one
}

UniqueFd memfd_of_size(uint64_t size) {
  UniqueFd fd(::memfd_create("guest-memory-test", MFD_CLOEXEC));
  EXPECT_TRUE(fd.valid());
  EXPECT_EQ(::ftruncate(fd.get(), static_cast<off_t>(size)), 0);
  return fd;
}

TEST(MappedRegion, MapsARegionAtAnOffsetOfTheFile) {
  UniqueFd fd = memfd_of_size(0x3000);
  const char marker[] = "ringlane";
  ASSERT_EQ(::pwrite(fd.get(), marker, sizeof(marker), 0x1000),
            static_cast<ssize_t>(sizeof(marker)));
  auto region = MappedRegion::map(RegionDescriptor{0x10000, 0x2000, 0x7f00000, 0x1000}, fd.get());
  ASSERT_TRUE(region.ok()) << region.error().to_string();
  EXPECT_STREQ(reinterpret_cast<const char*>((*region)->host()), marker);
  // Shared mapping: what we write the frontend sees in the file.
  (*region)->host()[0x1fff] = 0x5a;
  uint8_t last = 0;
  ASSERT_EQ(::pread(fd.get(), &last, 1, 0x2fff), 1);
  EXPECT_EQ(last, 0x5a);
  auto mem = GuestMemory::create({*region});
  ASSERT_TRUE(mem.ok());
  EXPECT_EQ(mem->translate(0x10000, 8), (*region)->host());
}

TEST(MappedRegion, RefusesRegionBeyondTheEndOfTheFile) {
  UniqueFd fd = memfd_of_size(0x2000);
  auto past_end = MappedRegion::map(RegionDescriptor{0, 0x1000, 0, 0x1800}, fd.get());
  ASSERT_FALSE(past_end.ok());
  EXPECT_EQ(past_end.error().code(), EINVAL);
  EXPECT_FALSE(MappedRegion::map(RegionDescriptor{0, 0x3000, 0, 0}, fd.get()).ok());
  EXPECT_FALSE(MappedRegion::map(RegionDescriptor{0, 0x1000, 0, 0x2000}, fd.get()).ok());
  EXPECT_TRUE(MappedRegion::map(RegionDescriptor{0, 0x1000, 0, 0x1000}, fd.get()).ok());
}

TEST(MappedRegion, RefusesOverflowingArithmetic) {
  UniqueFd fd = memfd_of_size(0x2000);
  EXPECT_FALSE(MappedRegion::map(RegionDescriptor{0, 0x1000, 0, kMax - 0x10}, fd.get()).ok());
  EXPECT_FALSE(MappedRegion::map(RegionDescriptor{kMax - 0x10, 0x1000, 0, 0}, fd.get()).ok());
  EXPECT_FALSE(MappedRegion::map(RegionDescriptor{0, 0x1000, kMax - 0x10, 0}, fd.get()).ok());
  EXPECT_FALSE(MappedRegion::map(RegionDescriptor{kMax - 0xfff, 0x1000, 0, 0}, fd.get()).ok());
  EXPECT_FALSE(MappedRegion::map(RegionDescriptor{0, 0, 0, 0}, fd.get()).ok());
}

TEST(MappedRegion, RefusesFilesThatAreNotRegular) {
  UniqueFd fd(::eventfd(0, EFD_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  EXPECT_FALSE(MappedRegion::map(RegionDescriptor{0, 0x1000, 0, 0}, fd.get()).ok());
  EXPECT_FALSE(MappedRegion::map(RegionDescriptor{0, 0x1000, 0, 0}, -1).ok());
}

}  // namespace
}  // namespace ringlane::virtio
