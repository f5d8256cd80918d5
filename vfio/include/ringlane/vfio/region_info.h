// RegionInfo: what VFIO_DEVICE_GET_REGION_INFO says about one region of a device (a BAR, the
// ROM, configuration space), including the capability chain that follows the fixed header.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "ringlane/base/result.h"

namespace ringlane::vfio {

// One range of a region that may be mmap()ed (the sparse-mmap capability); offsets are within
// the region.
struct MmapArea {
  uint64_t offset = 0;
  uint64_t size = 0;
  bool operator==(const MmapArea&) const = default;
};

// What the capability chain says. Unknown capabilities are skipped: the chain's ids are per
// ioctl and newer kernels add more.
struct RegionCaps {
  // Present only with the sparse-mmap capability; then only these areas may be mapped.
  std::vector<MmapArea> sparse_areas;
  bool has_sparse_mmap = false;
  // The MSI-X table in this BAR may be mapped too (the kernel protects the vectors through
  // interrupt remapping), so the BAR need not be split around it.
  bool msix_mappable = false;
};

struct RegionInfo {
  uint32_t index = 0;
  uint32_t flags = 0;   // VFIO_REGION_INFO_FLAG_*
  uint64_t size = 0;    // 0: the region is not implemented (an unused BAR)
  uint64_t offset = 0;  // where the region starts in the device fd (pread/pwrite/mmap)
  RegionCaps caps;

  bool readable() const;
  bool writable() const;
  bool mappable() const;
  // The ranges of the region mmap() may cover: the sparse areas when there are some, the whole
  // region when it is mappable, none otherwise.
  std::vector<MmapArea> mmap_areas() const;
};

// Parses the capability chain of a VFIO_DEVICE_GET_REGION_INFO answer: `info` is the whole
// buffer the kernel filled (the fixed struct first), `first` the offset of the first capability
// (cap_offset; 0 means none). Offsets are from the buffer's start; a chain that points outside
// the buffer, overlaps its header, loops or has a truncated capability is refused, since it would
// make us read past what the kernel wrote.
Result<RegionCaps> parse_region_caps(std::span<const uint8_t> info, uint32_t first);

}  // namespace ringlane::vfio
