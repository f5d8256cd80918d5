#include <gtest/gtest.h>
#include <linux/vfio.h>

#include <cstring>
#include <vector>

#include "ringlane/vfio/region_info.h"

namespace ringlane::vfio {
namespace {

// Builds a region-info answer as the kernel lays it out: the fixed struct, then capabilities.
class InfoBuilder {
 public:
  InfoBuilder() : bytes_(sizeof(vfio_region_info)) {}

  // Appends a sparse-mmap capability; returns its offset.
  uint32_t sparse(const std::vector<MmapArea>& areas, uint32_t next = 0) {
    uint32_t at = static_cast<uint32_t>(bytes_.size());
    vfio_region_info_cap_sparse_mmap cap{};
    cap.header.id = VFIO_REGION_INFO_CAP_SPARSE_MMAP;
    cap.header.version = 1;
    cap.header.next = next;
    cap.nr_areas = static_cast<uint32_t>(areas.size());
    append(&cap, sizeof(cap));
    for (const auto& a : areas) {
      vfio_region_sparse_mmap_area area{a.offset, a.size};
      append(&area, sizeof(area));
    }
    return at;
  }
  uint32_t header(uint16_t id, uint32_t next = 0) {
    uint32_t at = static_cast<uint32_t>(bytes_.size());
    vfio_info_cap_header cap{id, 1, next};
    append(&cap, sizeof(cap));
    return at;
  }
  void set_next(uint32_t at, uint32_t next) {
    std::memcpy(bytes_.data() + at + offsetof(vfio_info_cap_header, next), &next, sizeof(next));
  }
  std::span<const uint8_t> bytes() const { return bytes_; }
  void truncate(size_t n) { bytes_.resize(n); }
  size_t size() const { return bytes_.size(); }

 private:
  void append(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    bytes_.insert(bytes_.end(), b, b + n);
  }
  std::vector<uint8_t> bytes_;
};

TEST(RegionCaps, NoChainMeansNoCapabilities) {
  InfoBuilder info;
  auto caps = parse_region_caps(info.bytes(), 0);
  ASSERT_TRUE(caps.ok());
  EXPECT_FALSE(caps->has_sparse_mmap);
  EXPECT_FALSE(caps->msix_mappable);
}

TEST(RegionCaps, SparseAreasAndMsixMappableAlongTheChain) {
  InfoBuilder info;
  uint32_t msix = info.header(VFIO_REGION_INFO_CAP_MSIX_MAPPABLE);
  uint32_t unknown = info.header(77, msix);  // a capability this code does not know: skipped
  uint32_t first = info.sparse({{0, 0x3000}, {0x4000, 0x1c000}}, unknown);
  auto caps = parse_region_caps(info.bytes(), first);
  ASSERT_TRUE(caps.ok()) << caps.error().to_string();
  EXPECT_TRUE(caps->has_sparse_mmap);
  EXPECT_TRUE(caps->msix_mappable);
  std::vector<MmapArea> expected{{0, 0x3000}, {0x4000, 0x1c000}};
  EXPECT_EQ(caps->sparse_areas, expected);
}

TEST(RegionCaps, MmapAreasFollowTheFlagsAndTheSparseList) {
  RegionInfo region;
  region.size = 0x20000;
  EXPECT_TRUE(region.mmap_areas().empty());  // not mappable
  region.flags = VFIO_REGION_INFO_FLAG_MMAP | VFIO_REGION_INFO_FLAG_READ;
  EXPECT_EQ(region.mmap_areas(), (std::vector<MmapArea>{{0, 0x20000}}));
  region.caps.has_sparse_mmap = true;  // with no areas: nothing may be mapped
  EXPECT_TRUE(region.mmap_areas().empty());
  region.caps.sparse_areas = {{0x1000, 0x1000}};
  EXPECT_EQ(region.mmap_areas(), (std::vector<MmapArea>{{0x1000, 0x1000}}));
}

TEST(RegionCaps, RefusesChainsThatLeaveTheBuffer) {
  {
    InfoBuilder info;
    info.header(VFIO_REGION_INFO_CAP_MSIX_MAPPABLE);
    auto caps = parse_region_caps(info.bytes(), static_cast<uint32_t>(info.size()));
    ASSERT_FALSE(caps.ok());
    EXPECT_NE(caps.error().message().find("past the end"), std::string::npos)
        << caps.error().message();
  }
  {  // into the fixed header
    InfoBuilder info;
    info.header(VFIO_REGION_INFO_CAP_MSIX_MAPPABLE);
    EXPECT_FALSE(parse_region_caps(info.bytes(), 4).ok());
  }
  {  // more areas claimed than present
    InfoBuilder info;
    uint32_t at = info.sparse({{0, 0x1000}, {0x2000, 0x1000}});
    info.truncate(info.size() - 1);
    auto caps = parse_region_caps(info.bytes(), at);
    ASSERT_FALSE(caps.ok());
    EXPECT_NE(caps.error().message().find("claims 2 areas"), std::string::npos);
  }
  {  // a loop
    InfoBuilder info;
    uint32_t a = info.header(VFIO_REGION_INFO_CAP_MSIX_MAPPABLE);
    uint32_t b = info.header(99, a);
    info.set_next(a, b);
    auto caps = parse_region_caps(info.bytes(), a);
    ASSERT_FALSE(caps.ok());
    EXPECT_NE(caps.error().message().find("loops"), std::string::npos);
  }
}

}  // namespace
}  // namespace ringlane::vfio
