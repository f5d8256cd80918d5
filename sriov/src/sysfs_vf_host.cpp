#include "ringlane/sriov/sysfs_vf_host.h"

#include <cerrno>

#include "ringlane/sriov/virtual_functions.h"

namespace ringlane::sriov {

Result<std::vector<HostVf>> SysfsVfHost::vfs() {
  Result<std::vector<PhysicalFunction>> pfs = list_physical_functions(files_);
  if (!pfs.ok()) return pfs.error();
  std::vector<HostVf> out;
  for (const PhysicalFunction& pf : *pfs) {
    std::string ifname = pf.device.interfaces.empty() ? "" : pf.device.interfaces.front();
    for (const VirtualFunction& vf : pf.vfs) {
      out.push_back({pf.device.address, ifname, vf.index, vf.device.address, vf.device.driver});
    }
  }
  return out;
}

Result<VfSettings> SysfsVfHost::settings(const std::string& pf_ifname, uint32_t index) {
  if (pf_ifname.empty()) return VfSettings{};  // not a NIC: nothing to save or restore
  return NetlinkVfHost::settings(pf_ifname, index);
}

Status SysfsVfHost::apply(const std::string& pf_ifname, uint32_t index, const VfSettings& change) {
  if (pf_ifname.empty()) {
    return Error(EOPNOTSUPP, "VF " + std::to_string(index) +
                                 "'s PF has no network interface (it is not a NIC), so it has "
                                 "no VF settings (" +
                                 describe(change) + ")");
  }
  return NetlinkVfHost::apply(pf_ifname, index, change);
}

Status SysfsVfHost::bind(const vfio::PciAddress& vf, const std::string& driver) {
  Result<vfio::BindOutcome> r = binding_.bind(vf, {.driver = driver});
  if (!r.ok()) return r.error();
  return {};
}

Status SysfsVfHost::restore_driver(const vfio::PciAddress& vf, const std::string& original) {
  Result<vfio::PciDevice> device = vfio::read_pci_device(files_, vf);
  if (!device.ok()) return device.error();
  if (device->driver == original && device->driver_override.empty()) {
    return binding_.forget(vf);
  }
  Result<vfio::BindOutcome> r = binding_.restore(vf);
  if (r.ok()) return {};
  if (r.error().code() != ENOENT) return r.error();
  // No record (the VF was bound before the pool knew it): back to `original` directly.
  if (original.empty()) {
    RINGLANE_TRY(files_.write(vfio::device_dir(vf) + "/driver_override", "\n"));
    if (device->driver.empty()) return {};
    return files_.write("sys/bus/pci/drivers/" + device->driver + "/unbind", vf.to_string());
  }
  Result<vfio::BindOutcome> bound = binding_.bind(vf, {.driver = original});
  if (!bound.ok()) return bound.error();
  RINGLANE_TRY(files_.write(vfio::device_dir(vf) + "/driver_override", "\n"));
  return binding_.forget(vf);
}

}  // namespace ringlane::sriov
