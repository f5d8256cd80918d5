// VfioContainer: /dev/vfio/vfio, the IOMMU context that groups join. It holds the type1 v2
// IOMMU (set when the first group joins, as the kernel requires) and the DMA mappings: device
// addresses (IOVAs) translated to this process's memory, which the kernel pins.
//
// iommufd (/dev/iommu) is the newer interface; the kernels this runs on (Debian 12's 6.1 in the
// tests) do not offer it, so only the container/group API is implemented.
#pragma once

#include <cstdint>

#include "ringlane/base/result.h"
#include "ringlane/base/unique_fd.h"

namespace ringlane::vfio {

class VfioGroup;

enum class DmaAccess { read_only, read_write };

class VfioContainer {
 public:
  // Opens /dev/vfio/vfio (or `path`) and checks the API version and the type1 v2 extension.
  static Result<VfioContainer> open(const char* path = "/dev/vfio/vfio");

  // Puts the group in this container; the first group also sets the IOMMU type.
  Status add_group(VfioGroup& group);

  // Maps `size` bytes at `host` for the device at `iova` (all page-aligned). The device may read
  // them, and write them with DmaAccess::read_write.
  Status dma_map(uint64_t iova, void* host, uint64_t size, DmaAccess access);
  Status dma_unmap(uint64_t iova, uint64_t size);

  int fd() const { return fd_.get(); }
  bool iommu_set() const { return iommu_set_; }
  uint64_t mapped_bytes() const { return mapped_bytes_; }

 private:
  explicit VfioContainer(UniqueFd fd) : fd_(std::move(fd)) {}

  UniqueFd fd_;
  bool iommu_set_ = false;
  uint64_t mapped_bytes_ = 0;
};

}  // namespace ringlane::vfio
