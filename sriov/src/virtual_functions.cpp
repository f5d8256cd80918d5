#include "ringlane/sriov/virtual_functions.h"

#include <cerrno>
#include <thread>

namespace ringlane::sriov {
namespace {

using vfio::device_dir;
using vfio::KernelFiles;
using vfio::PciAddress;
using vfio::PciDevice;

// What the kernel's errno from sriov_numvfs means for the person who asked.
std::string numvfs_reason(int error, const PciDevice& pf) {
  switch (error) {
    case ENOENT:
      return pf.driver.empty() ? "no driver is bound to the PF (bind its own driver first)"
                               : "the PF's driver " + pf.driver + " cannot enable VFs";
    case ERANGE:
      return "more VFs than the device offers (sriov_totalvfs is " + std::to_string(pf.total_vfs) +
             ")";
    case EBUSY:
      return "VFs exist already, or the PF is in use; destroy them first";
    case ENOMEM:
    case ENOSPC:
      return "the platform has no room for the VFs (bus numbers or BAR space; see dmesg)";
    case EPERM:
    case EACCES:
      return "not permitted (root is needed)";
    default:
      return "see the kernel log (dmesg)";
  }
}

Status write_numvfs(KernelFiles& files, const PciDevice& pf, uint32_t count) {
  Status s = files.write(device_dir(pf.address) + "/sriov_numvfs", std::to_string(count));
  if (s) return {};
  return Error(s.error().code(), "the kernel refused " + std::to_string(count) + " VFs on " +
                                     pf.address.to_string() +
                                     " (sriov_numvfs): " + numvfs_reason(s.error().code(), pf));
}

}  // namespace

Result<PhysicalFunction> read_physical_function(KernelFiles& files, const PciAddress& pf) {
  RINGLANE_ASSIGN_OR_RETURN(PciDevice device, vfio::read_pci_device(files, pf));
  if (device.sriov_role != vfio::SriovRole::kPhysicalFunction) {
    return Error(
        EOPNOTSUPP,
        pf.to_string() + " cannot have VFs: it has no SR-IOV capability" +
            (device.sriov_role == vfio::SriovRole::kVirtualFunction ? " (it is a VF itself)" : ""));
  }
  PhysicalFunction result{std::move(device), {}};
  RINGLANE_ASSIGN_OR_RETURN(const std::vector<vfio::VirtualFunctionLink> links,
                            vfio::virtual_function_links(files, pf));
  for (const vfio::VirtualFunctionLink& link : links) {
    Result<PciDevice> vf = vfio::read_pci_device(files, link.address);
    if (!vf.ok()) continue;  // going away
    result.vfs.push_back({link.index, std::move(*vf)});
  }
  return result;
}

Result<std::vector<PhysicalFunction>> list_physical_functions(KernelFiles& files) {
  RINGLANE_ASSIGN_OR_RETURN(const std::vector<PciDevice> devices, vfio::list_pci_devices(files));
  std::vector<PhysicalFunction> pfs;
  for (const PciDevice& d : devices) {
    if (d.sriov_role != vfio::SriovRole::kPhysicalFunction) continue;
    Result<PhysicalFunction> pf = read_physical_function(files, d.address);
    if (pf.ok()) pfs.push_back(std::move(*pf));
  }
  return pfs;
}

Result<PhysicalFunction> create_vfs(KernelFiles& files, vfio::DriverBinding& binding,
                                    const PciAddress& pf, const CreateOptions& options) {
  RINGLANE_ASSIGN_OR_RETURN(const PhysicalFunction before, read_physical_function(files, pf));
  const PciDevice& device = before.device;
  if (options.count == 0) {
    return Error(EINVAL, "asked for 0 VFs on " + pf.to_string() + "; destroy removes them");
  }
  if (device.num_vfs != 0 && device.num_vfs != options.count) {
    return Error(EBUSY, pf.to_string() + " has " + std::to_string(device.num_vfs) +
                            " VFs already; destroy them before asking for " +
                            std::to_string(options.count));
  }
  if (!options.driver.empty() && !files.exists("sys/bus/pci/drivers/" + options.driver)) {
    return Error(ENOENT,
                 "driver " + options.driver + " is not loaded (modprobe " + options.driver + ")");
  }
  const std::string dir = device_dir(pf);
  if (device.num_vfs == 0) {
    // Autoprobe off: the VFs must not meet a host driver before they reach the one asked for.
    Result<std::string> autoprobe = files.read(dir + "/sriov_drivers_autoprobe");
    bool restore_autoprobe = autoprobe.ok() && *autoprobe != "0";
    if (restore_autoprobe) RINGLANE_TRY(files.write(dir + "/sriov_drivers_autoprobe", "0"));
    Status created = write_numvfs(files, device, options.count);
    if (restore_autoprobe) (void)files.write(dir + "/sriov_drivers_autoprobe", *autoprobe);
    if (!created) return created.error();
  }
  // The kernel adds the VFs' sysfs entries as it enables them: wait for every virtfnN.
  auto deadline = std::chrono::steady_clock::now() + options.timeout;
  Result<PhysicalFunction> now = read_physical_function(files, pf);
  while (now.ok() && now->vfs.size() < options.count) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return Error(ETIMEDOUT, pf.to_string() + ": only " + std::to_string(now->vfs.size()) +
                                  " of " + std::to_string(options.count) + " VFs appeared in " +
                                  std::to_string(options.timeout.count()) + " ms");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    now = read_physical_function(files, pf);
  }
  if (!now.ok()) return now.error();
  if (!options.driver.empty()) {
    for (const VirtualFunction& vf : now->vfs) {
      Result<vfio::BindOutcome> bound = binding.bind(vf.device.address, {.driver = options.driver});
      if (!bound.ok()) {
        return Error(bound.error().code(), "VF " + std::to_string(vf.index) + " of " +
                                               pf.to_string() + ": " + bound.error().message());
      }
    }
    now = read_physical_function(files, pf);
  }
  return now;
}

Result<PhysicalFunction> destroy_vfs(KernelFiles& files, vfio::DriverBinding& binding,
                                     const PciAddress& pf) {
  RINGLANE_ASSIGN_OR_RETURN(const PhysicalFunction before, read_physical_function(files, pf));
  if (before.device.num_vfs != 0) RINGLANE_TRY(write_numvfs(files, before.device, 0));
  for (const VirtualFunction& vf : before.vfs) RINGLANE_TRY(binding.forget(vf.device.address));
  return read_physical_function(files, pf);
}

}  // namespace ringlane::sriov
