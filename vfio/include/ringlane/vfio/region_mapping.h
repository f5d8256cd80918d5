// RegionMapping: an mmap() of (part of) a device region, unmapped when it goes away. BARs mapped
// this way are accessed by plain loads and stores, or handed to KVM as guest memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

namespace ringlane::vfio {

class RegionMapping {
 public:
  RegionMapping() = default;
  RegionMapping(void* address, size_t size) : address_(address), size_(size) {}
  RegionMapping(RegionMapping&& other) noexcept
      : address_(std::exchange(other.address_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  RegionMapping& operator=(RegionMapping&& other) noexcept;
  RegionMapping(const RegionMapping&) = delete;
  RegionMapping& operator=(const RegionMapping&) = delete;
  ~RegionMapping();

  uint8_t* data() const { return static_cast<uint8_t*>(address_); }
  size_t size() const { return size_; }
  bool mapped() const { return address_ != nullptr; }

  // Device registers: volatile, exactly one access of the given width (no tearing or merging).
  uint32_t read32(size_t offset) const;
  void write32(size_t offset, uint32_t value) const;

 private:
  void unmap();

  void* address_ = nullptr;
  size_t size_ = 0;
};

}  // namespace ringlane::vfio
