#include "ringlane/vfio/region_mapping.h"

#include <sys/mman.h>

namespace ringlane::vfio {

RegionMapping& RegionMapping::operator=(RegionMapping&& other) noexcept {
  if (this != &other) {
    unmap();
    address_ = std::exchange(other.address_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

RegionMapping::~RegionMapping() {
  unmap();
}

void RegionMapping::unmap() {
  if (address_ != nullptr) ::munmap(address_, size_);
  address_ = nullptr;
  size_ = 0;
}

uint32_t RegionMapping::read32(size_t offset) const {
  return *reinterpret_cast<volatile const uint32_t*>(data() + offset);
}

void RegionMapping::write32(size_t offset, uint32_t value) const {
  *reinterpret_cast<volatile uint32_t*>(data() + offset) = value;
}

}  // namespace ringlane::vfio
