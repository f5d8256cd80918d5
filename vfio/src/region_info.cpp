#include "ringlane/vfio/region_info.h"

#include <linux/vfio.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace ringlane::vfio {

bool RegionInfo::readable() const {
  return (flags & VFIO_REGION_INFO_FLAG_READ) != 0;
}
bool RegionInfo::writable() const {
  return (flags & VFIO_REGION_INFO_FLAG_WRITE) != 0;
}
bool RegionInfo::mappable() const {
  return (flags & VFIO_REGION_INFO_FLAG_MMAP) != 0;
}

std::vector<MmapArea> RegionInfo::mmap_areas() const {
  if (!mappable() || size == 0) return {};
  if (caps.has_sparse_mmap) return caps.sparse_areas;
  return {MmapArea{0, size}};
}

Result<RegionCaps> parse_region_caps(std::span<const uint8_t> info, uint32_t first) {
  RegionCaps caps;
  auto bad = [&](uint64_t at, const std::string& what) {
    return Error(EPROTO, "region info capability at offset " + std::to_string(at) + ": " + what +
                             " (buffer of " + std::to_string(info.size()) + " bytes)");
  };
  // A chain can hold at most one capability per header-sized slot of the buffer; more hops than
  // that means it loops.
  size_t hops_left = info.size() / sizeof(vfio_info_cap_header) + 1;
  uint64_t at = first;
  while (at != 0) {
    if (hops_left-- == 0) return bad(at, "the chain loops");
    if (at < sizeof(vfio_region_info)) return bad(at, "points into the fixed header");
    if (at + sizeof(vfio_info_cap_header) > info.size()) return bad(at, "header past the end");
    vfio_info_cap_header header;
    std::memcpy(&header, info.data() + at, sizeof(header));
    if (header.id == VFIO_REGION_INFO_CAP_SPARSE_MMAP) {
      vfio_region_info_cap_sparse_mmap sparse;
      if (at + sizeof(sparse) > info.size()) return bad(at, "sparse-mmap capability truncated");
      std::memcpy(&sparse, info.data() + at, sizeof(sparse));
      uint64_t areas_at = at + sizeof(sparse);
      if (areas_at + uint64_t{sparse.nr_areas} * sizeof(vfio_region_sparse_mmap_area) >
          info.size()) {
        return bad(at, "sparse-mmap capability claims " + std::to_string(sparse.nr_areas) +
                           " areas, more than the buffer holds");
      }
      caps.has_sparse_mmap = true;
      for (uint32_t i = 0; i < sparse.nr_areas; ++i) {
        vfio_region_sparse_mmap_area area;
        std::memcpy(&area, info.data() + areas_at + i * sizeof(area), sizeof(area));
        caps.sparse_areas.push_back(MmapArea{area.offset, area.size});
      }
    } else if (header.id == VFIO_REGION_INFO_CAP_MSIX_MAPPABLE) {
      caps.msix_mappable = true;
    }
    at = header.next;
  }
  return caps;
}

}  // namespace ringlane::vfio
