// SysfsVfHost: the VF pool's host for real. VF settings go over rtnetlink (NetlinkVfHost); the
// VFs themselves come from sysfs (every PF's virtfnN) and move between drivers through
// DriverBinding, so a pool's binding is recorded like any `pci bind`. A PF with no network
// interface (an NVMe controller) has no VF settings to save; asking to change them says so.
#pragma once

#include <string>
#include <vector>

#include "ringlane/sriov/vf_host.h"
#include "ringlane/vfio/driver_binding.h"
#include "ringlane/vfio/kernel_files.h"

namespace ringlane::sriov {

class SysfsVfHost : public NetlinkVfHost {
 public:
  SysfsVfHost(VfLink link, vfio::KernelFiles& files, vfio::DriverBinding& binding)
      : NetlinkVfHost(std::move(link)), files_(files), binding_(binding) {}

  Result<std::vector<HostVf>> vfs() override;
  Result<VfSettings> settings(const std::string& pf_ifname, uint32_t index) override;
  Status apply(const std::string& pf_ifname, uint32_t index, const VfSettings& change) override;
  Status bind(const vfio::PciAddress& vf, const std::string& driver) override;
  Status restore_driver(const vfio::PciAddress& vf, const std::string& original) override;

 private:
  vfio::KernelFiles& files_;
  vfio::DriverBinding& binding_;
};

}  // namespace ringlane::sriov
