// IOMMU groups: the unit VFIO hands to user space. A group is viable for VFIO only when every
// device in it is bound to vfio-pci or to a driver the kernel allows beside it (pci-stub, the
// PCIe port driver of bridges) or to none; a device bound to any other driver could still DMA
// into the memory the group's owner maps.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ringlane/base/result.h"
#include "ringlane/vfio/kernel_files.h"
#include "ringlane/vfio/pci_address.h"
#include "ringlane/vfio/pci_device.h"

namespace ringlane::vfio {

struct IommuGroup {
  uint32_t number = 0;
  std::vector<PciDevice> devices;
};

Result<IommuGroup> read_iommu_group(KernelFiles& files, uint32_t number);

// Whether `driver` may hold a device of a group that VFIO uses.
bool allows_vfio_group(const std::string& driver);

// The devices of `group`, other than `except`, that keep it from being viable.
std::vector<PciDevice> devices_blocking_vfio(const IommuGroup& group, const PciAddress& except);

// "0000:00:1f.0 (lpc_ich), 0000:00:1f.3 (i801_smbus)".
std::string describe_devices(const std::vector<PciDevice>& devices);

}  // namespace ringlane::vfio
