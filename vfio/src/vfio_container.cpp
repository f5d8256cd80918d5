#include "ringlane/vfio/vfio_container.h"

#include <fcntl.h>
#include <linux/vfio.h>
#include <sys/ioctl.h>

#include <cinttypes>
#include <cstdio>

#include "ringlane/vfio/memlock.h"
#include "ringlane/vfio/vfio_group.h"

namespace ringlane::vfio {

Result<VfioContainer> VfioContainer::open(const char* path) {
  UniqueFd fd(::open(path, O_RDWR | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) {
      return Error(ENOENT, std::string("open ") + path +
                               ": the kernel has no VFIO (load the vfio-pci module)");
    }
    return errno_error(std::string("open ") + path);
  }
  int version = ::ioctl(fd.get(), VFIO_GET_API_VERSION);
  if (version != VFIO_API_VERSION) {
    return Error(EPROTONOSUPPORT, std::string(path) + ": VFIO API version " +
                                      std::to_string(version) + ", this program speaks " +
                                      std::to_string(VFIO_API_VERSION));
  }
  if (::ioctl(fd.get(), VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0) {
    return Error(EPROTONOSUPPORT,
                 std::string(path) + ": the kernel offers no type1 v2 IOMMU (VFIO_TYPE1v2_IOMMU)");
  }
  return VfioContainer(std::move(fd));
}

Status VfioContainer::add_group(VfioGroup& group) {
  int container = fd_.get();
  if (::ioctl(group.fd(), VFIO_GROUP_SET_CONTAINER, &container) != 0) {
    return errno_error("put IOMMU group " + std::to_string(group.number()) +
                       " in the VFIO container");
  }
  group.in_container_ = true;
  // The IOMMU type can only be chosen once a group is in the container, and only once.
  if (!iommu_set_) {
    if (::ioctl(fd_.get(), VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) != 0) {
      return errno_error("set the type1 v2 IOMMU for IOMMU group " +
                         std::to_string(group.number()));
    }
    iommu_set_ = true;
  }
  return {};
}

Status VfioContainer::dma_map(uint64_t iova, void* host, uint64_t size, DmaAccess access) {
  vfio_iommu_type1_dma_map map{};
  map.argsz = sizeof(map);
  map.flags = VFIO_DMA_MAP_FLAG_READ;
  if (access == DmaAccess::read_write) map.flags |= VFIO_DMA_MAP_FLAG_WRITE;
  map.vaddr = reinterpret_cast<uint64_t>(host);
  map.iova = iova;
  map.size = size;
  if (::ioctl(fd_.get(), VFIO_IOMMU_MAP_DMA, &map) != 0) {
    int code = errno;
    MemlockState state;
    if (auto s = current_memlock_state(); s.ok()) state = *s;
    if (!iommu_set_) return Error(EINVAL, "VFIO DMA map: no group in the container yet");
    return dma_map_error(code, iova, size, state);
  }
  mapped_bytes_ += size;
  return {};
}

Status VfioContainer::dma_unmap(uint64_t iova, uint64_t size) {
  vfio_iommu_type1_dma_unmap unmap{};
  unmap.argsz = sizeof(unmap);
  unmap.iova = iova;
  unmap.size = size;
  if (::ioctl(fd_.get(), VFIO_IOMMU_UNMAP_DMA, &unmap) != 0) {
    char range[64];
    std::snprintf(range, sizeof(range), "0x%" PRIx64 "-0x%" PRIx64, iova, iova + size - 1);
    return errno_error(std::string("VFIO DMA unmap of IOVA ") + range);
  }
  mapped_bytes_ -= unmap.size < mapped_bytes_ ? unmap.size : mapped_bytes_;
  return {};
}

}  // namespace ringlane::vfio
