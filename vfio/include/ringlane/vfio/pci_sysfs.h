// What sysfs says about a PCI function that VFIO needs: whether it exists, which driver has it
// and its IOMMU group (with the group's other members, which must all be given to vfio-pci
// before the group is usable). The root is a parameter so tests can build a fake tree.
#pragma once

#include <string>
#include <vector>

#include "ringlane/base/result.h"
#include "ringlane/vfio/pci_address.h"

namespace ringlane::vfio {

class PciSysfs {
 public:
  explicit PciSysfs(std::string root = "/sys") : root_(std::move(root)) {}

  // /sys/bus/pci/devices/BDF
  std::string device_path(const PciAddress& address) const;
  // ENODEV with the path when there is no such device.
  Status check_exists(const PciAddress& address) const;
  // The bound driver's name ("vfio-pci", "e1000e"), or "" when no driver has the device.
  Result<std::string> driver(const PciAddress& address) const;
  // The IOMMU group number; ENODEV with advice when the device has none (no IOMMU enabled).
  Result<int> iommu_group(const PciAddress& address) const;
  // Members of /sys/kernel/iommu_groups/N/devices, sorted.
  Result<std::vector<std::string>> group_devices(int group) const;

 private:
  std::string root_;
};

}  // namespace ringlane::vfio
