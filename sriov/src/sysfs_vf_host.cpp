#include "ringlane/sriov/sysfs_vf_host.h"

#include <cerrno>
#include <optional>

#include "ringlane/sriov/virtual_functions.h"

namespace ringlane::sriov {

Result<std::vector<HostVf>> SysfsVfHost::vfs() {
  RINGLANE_ASSIGN_OR_RETURN(const std::vector<PhysicalFunction> pfs,
                            list_physical_functions(files_));
  std::vector<HostVf> out;
  for (const PhysicalFunction& pf : pfs) {
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
  RINGLANE_TRY(binding_.bind(vf, {.driver = driver}));
  return {};
}

Status SysfsVfHost::restore_driver(const vfio::PciAddress& vf, const std::string& original) {
  RINGLANE_ASSIGN_OR_RETURN(const vfio::PciDevice device, vfio::read_pci_device(files_, vf));
  RINGLANE_ASSIGN_OR_RETURN(const std::vector<vfio::BindingRecord> records, binding_.records());
  std::optional<vfio::BindingRecord> record;
  for (const vfio::BindingRecord& r : records) {
    if (r.device == vf) record = r;
  }
  // The binding record may be older than the pool's (sriov create --driver wrote it, with the
  // VF's driver before that): then it stays, and the VF goes back to what the pool found.
  const bool record_is_pools = record && record->original_driver == original;
  if (device.driver == original) {
    // Nothing claims an unbound VF later because of an override the pool left.
    if (original.empty())
      RINGLANE_TRY(files_.write(vfio::device_dir(vf) + "/driver_override", "\n"));
    return record_is_pools ? binding_.forget(vf) : Status{};
  }
  if (record_is_pools) {
    RINGLANE_TRY(binding_.restore(vf));
    return {};
  }
  if (original.empty()) {
    RINGLANE_TRY(files_.write(vfio::device_dir(vf) + "/driver_override", "\n"));
    return files_.write("sys/bus/pci/drivers/" + device.driver + "/unbind", vf.to_string());
  }
  RINGLANE_TRY(binding_.bind(vf, {.driver = original}));
  // Without an older record this bind made one, whose "original" is merely the pool's driver.
  return record ? Status{} : binding_.forget(vf);
}

}  // namespace ringlane::sriov
