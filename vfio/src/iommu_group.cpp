#include "ringlane/vfio/iommu_group.h"

namespace ringlane::vfio {

Result<IommuGroup> read_iommu_group(KernelFiles& files, uint32_t number) {
  const std::string dir = "sys/kernel/iommu_groups/" + std::to_string(number) + "/devices";
  Result<std::vector<std::string>> names = files.list(dir);
  if (!names.ok())
    return Error(names.error().code(),
                 "IOMMU group " + std::to_string(number) + ": cannot list /" + dir);
  IommuGroup group{number, {}};
  for (const std::string& name : *names) {
    Result<PciAddress> address = PciAddress::parse(name);
    if (!address.ok()) continue;
    RINGLANE_ASSIGN_OR_RETURN(PciDevice device, read_pci_device(files, *address));
    group.devices.push_back(std::move(device));
  }
  return group;
}

bool allows_vfio_group(const std::string& driver) {
  return driver.empty() || driver == "vfio-pci" || driver == "pci-stub" || driver == "pcieport";
}

std::vector<PciDevice> devices_blocking_vfio(const IommuGroup& group, const PciAddress& except) {
  std::vector<PciDevice> blocking;
  for (const PciDevice& d : group.devices) {
    if (d.address != except && !allows_vfio_group(d.driver)) blocking.push_back(d);
  }
  return blocking;
}

std::string describe_devices(const std::vector<PciDevice>& devices) {
  std::string text;
  for (const PciDevice& d : devices) {
    if (!text.empty()) text += ", ";
    text += d.address.to_string() + " (" + (d.driver.empty() ? "no driver" : d.driver) + ")";
  }
  return text;
}

}  // namespace ringlane::vfio
