// How ringlane-ctl shows host PCI devices and SR-IOV functions: JSON for automation (--json)
// and tables for a person.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ringlane/sriov/virtual_functions.h"
#include "ringlane/vfio/iommu_group.h"
#include "ringlane/vfio/pci_device.h"

namespace ringlane::ctl {

nlohmann::json to_json(const vfio::PciDevice& device);
nlohmann::json to_json(const sriov::PhysicalFunction& pf);
// BDF VENDOR:DEVICE CLASS DRIVER GROUP NUMA SRIOV INTERFACES.
std::string format_pci_devices(const std::vector<vfio::PciDevice>& devices);
// One device in "key: value" lines, with the other members of its IOMMU group.
std::string format_pci_device(const vfio::PciDevice& device, const vfio::IommuGroup* group);
// A PF per line, its VFs indented under it.
std::string format_physical_functions(const std::vector<sriov::PhysicalFunction>& pfs);

}  // namespace ringlane::ctl
