#include "ringlane/vfio/pci_sysfs.h"

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <system_error>

namespace ringlane::vfio {
namespace fs = std::filesystem;

std::string PciSysfs::device_path(const PciAddress& address) const {
  return root_ + "/bus/pci/devices/" + address.to_string();
}

Status PciSysfs::check_exists(const PciAddress& address) const {
  std::error_code ec;
  if (!fs::exists(device_path(address), ec)) {
    return Error(ENODEV, "no PCI device " + address.to_string() + " (" + device_path(address) +
                             " does not exist; `lspci -D` lists the devices)");
  }
  return {};
}

Result<std::string> PciSysfs::driver(const PciAddress& address) const {
  RINGLANE_TRY(check_exists(address));
  std::error_code ec;
  fs::path target = fs::read_symlink(device_path(address) + "/driver", ec);
  if (ec) return std::string();  // no driver bound
  return target.filename().string();
}

Result<int> PciSysfs::iommu_group(const PciAddress& address) const {
  RINGLANE_TRY(check_exists(address));
  std::error_code ec;
  fs::path target = fs::read_symlink(device_path(address) + "/iommu_group", ec);
  if (ec) {
    return Error(ENODEV, "PCI device " + address.to_string() +
                             " is in no IOMMU group: is the IOMMU on (intel_iommu=on or "
                             "amd_iommu=on on the kernel command line)?");
  }
  const std::string name = target.filename().string();
  int group = 0;
  if (name.empty() || name.size() > 9 ||
      !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Error(EINVAL, "PCI device " + address.to_string() + ": iommu_group link points to '" +
                             target.string() + "', not a group number");
  }
  group = std::stoi(name);
  return group;
}

Result<std::vector<std::string>> PciSysfs::group_devices(int group) const {
  const std::string dir = root_ + "/kernel/iommu_groups/" + std::to_string(group) + "/devices";
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    names.push_back(entry.path().filename().string());
  }
  if (ec) return Error(ec.value(), "list " + dir);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace ringlane::vfio
