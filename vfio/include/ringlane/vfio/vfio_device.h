// VfioDevice: a device fd from VFIO_GROUP_GET_DEVICE_FD. Its regions (BARs, ROM, configuration
// space) are ranges of the fd, read and written with pread/pwrite or mmap()ed; its interrupts are
// delivered to eventfds.
#pragma once

#include <cstdint>
#include <span>

#include "ringlane/base/result.h"
#include "ringlane/base/unique_fd.h"
#include "ringlane/vfio/pci_address.h"
#include "ringlane/vfio/region_info.h"
#include "ringlane/vfio/region_mapping.h"

namespace ringlane::vfio {

// vfio-pci's fixed region numbers (linux/vfio.h).
inline constexpr uint32_t kBar0Region = 0;
inline constexpr uint32_t kRomRegion = 6;
inline constexpr uint32_t kConfigRegion = 7;

enum class IrqIndex : uint32_t { intx = 0, msi = 1, msix = 2, err = 3, req = 4 };
const char* to_string(IrqIndex index);

struct DeviceInfo {
  uint32_t flags = 0;  // VFIO_DEVICE_FLAGS_*
  uint32_t num_regions = 0;
  uint32_t num_irqs = 0;
  bool supports_reset() const;
};

struct IrqInfo {
  IrqIndex index = IrqIndex::intx;
  uint32_t flags = 0;  // VFIO_IRQ_INFO_*
  uint32_t count = 0;  // vectors; 0 when the device has none of this kind
};

class VfioDevice {
 public:
  // Takes a device fd (from VfioGroup::open_device) and reads its info and where its
  // configuration space lies.
  static Result<VfioDevice> from_fd(UniqueFd fd, const PciAddress& address);

  const PciAddress& address() const { return address_; }
  const DeviceInfo& info() const { return info_; }
  int fd() const { return fd_.get(); }

  Result<RegionInfo> region_info(uint32_t index) const;
  // Maps `size` bytes at `offset` of the region (page-aligned; must lie in one mmap area).
  Result<RegionMapping> map(const RegionInfo& region, uint64_t offset, uint64_t size) const;
  // pread/pwrite within a region; short transfers are errors.
  Status read(const RegionInfo& region, uint64_t offset, std::span<uint8_t> out) const;
  Status write(const RegionInfo& region, uint64_t offset, std::span<const uint8_t> data) const;

  // Configuration space through the config region: `width` 1, 2 or 4 bytes, little-endian.
  Result<uint32_t> read_config(uint32_t offset, uint32_t width) const;
  Status write_config(uint32_t offset, uint32_t value, uint32_t width) const;

  Result<IrqInfo> irq_info(IrqIndex index) const;
  // Signals `fds[i]` for vector first + i (-1 leaves that vector without an eventfd).
  Status set_irq_eventfds(IrqIndex index, uint32_t first, std::span<const int> fds) const;
  // Turns every vector of the kind off.
  Status disable_irqs(IrqIndex index) const;
  // INTx is masked by the kernel when it fires (level-triggered); this re-arms it.
  Status unmask_intx() const;

  // Function-level (or other) reset; refused, with the reason, when the device has none.
  Status reset() const;

 private:
  VfioDevice(UniqueFd fd, const PciAddress& address, DeviceInfo info, uint64_t config_offset)
      : fd_(std::move(fd)), address_(address), info_(info), config_offset_(config_offset) {}

  UniqueFd fd_;
  PciAddress address_;
  DeviceInfo info_;
  uint64_t config_offset_ = 0;
};

}  // namespace ringlane::vfio
