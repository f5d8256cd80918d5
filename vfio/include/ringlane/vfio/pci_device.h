// PciDevice: what sysfs says about one PCI function (identity, driver, IOMMU group, NUMA node,
// SR-IOV role, network interfaces), read in one go for listing and for the checks before a
// driver change.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ringlane/base/result.h"
#include "ringlane/vfio/kernel_files.h"
#include "ringlane/vfio/pci_address.h"

namespace ringlane::vfio {

enum class SriovRole { kNone, kPhysicalFunction, kVirtualFunction };
const char* to_string(SriovRole role);

struct PciDevice {
  PciAddress address;
  uint16_t vendor = 0;
  uint16_t device = 0;
  uint32_t class_code = 0;              // base class, subclass, programming interface
  std::string driver;                   // empty: no driver bound
  std::string driver_override;          // empty: none set
  std::optional<uint32_t> iommu_group;  // none: no IOMMU (VFIO cannot use the device)
  int numa_node = -1;                   // -1: the platform does not say
  SriovRole sriov_role = SriovRole::kNone;
  uint32_t total_vfs = 0;                       // physical functions
  uint32_t num_vfs = 0;                         // physical functions
  std::optional<PciAddress> physical_function;  // virtual functions
  std::optional<uint32_t> vf_index;             // virtual functions: N of the PF's virtfnN
  std::vector<std::string> interfaces;          // network interfaces (sysfs net/)

  // "network", "storage", ... from the base class; "class 0xNN" for the rest.
  std::string class_name() const;
};

// sysfs's directory for a device, relative to the files' root.
std::string device_dir(const PciAddress& address);

Result<PciDevice> read_pci_device(KernelFiles& files, const PciAddress& address);

// A PF's virtfnN links: each VF's number on the PF and its address, by number.
struct VirtualFunctionLink {
  uint32_t index = 0;
  PciAddress address;
};
Result<std::vector<VirtualFunctionLink>> virtual_function_links(KernelFiles& files,
                                                                const PciAddress& pf);
// Every PCI function sysfs lists, in address order.
Result<std::vector<PciDevice>> list_pci_devices(KernelFiles& files);

}  // namespace ringlane::vfio
