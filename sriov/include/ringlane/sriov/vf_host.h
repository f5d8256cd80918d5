// VfHost: what the VF pool needs of the host, behind an interface so the pool can be tested
// with a fake and crashed at every step. NetlinkVfHost implements the VF settings with rtnetlink
// and leaves the PCI side (the inventory and driver binding, sysfs work) to a subclass.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ringlane/base/result.h"
#include "ringlane/sriov/vf_link.h"
#include "ringlane/sriov/vf_settings.h"
#include "ringlane/vfio/pci_address.h"

namespace ringlane::sriov {

// One VF as the host has it now.
struct HostVf {
  vfio::PciAddress pf;    // the PF's PCI address
  std::string pf_ifname;  // the PF's network interface, which VF settings go through
  uint32_t index = 0;     // the VF's number on its PF (virtfnN)
  vfio::PciAddress address;
  std::string driver;  // the driver bound now; empty for none
};

class VfHost {
 public:
  virtual ~VfHost() = default;

  // Every VF of every SR-IOV PF the pool may hand out.
  virtual Result<std::vector<HostVf>> vfs() = 0;
  // VF `index`'s current settings, as its PF reports them.
  virtual Result<VfSettings> settings(const std::string& pf_ifname, uint32_t index) = 0;
  // Changes the fields present in `change`.
  virtual Status apply(const std::string& pf_ifname, uint32_t index, const VfSettings& change) = 0;
  // Binds the VF to `driver` (e.g. vfio-pci), unbinding it from its current one.
  virtual Status bind(const vfio::PciAddress& vf, const std::string& driver) = 0;
  // Puts the VF back on `original` (empty: leaves it unbound). Must succeed when the VF is
  // already there: it is called again when a crash interrupted a release.
  virtual Status restore_driver(const vfio::PciAddress& vf, const std::string& original) = 0;
};

// settings() and apply() over rtnetlink (VfLink); vfs(), bind() and restore_driver() are the
// subclass's (sysfs).
class NetlinkVfHost : public VfHost {
 public:
  explicit NetlinkVfHost(VfLink link) : link_(std::move(link)) {}

  Result<VfSettings> settings(const std::string& pf_ifname, uint32_t index) override;
  Status apply(const std::string& pf_ifname, uint32_t index, const VfSettings& change) override;

 private:
  VfLink link_;
};

}  // namespace ringlane::sriov
