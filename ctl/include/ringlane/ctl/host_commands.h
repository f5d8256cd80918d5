// ringlane-ctl's commands on this host's PCI devices and SR-IOV functions (pci ..., sriov ...):
// each prints its result (JSON with --json) and returns the exit status: 0 done, 1 refused (the
// reason on stderr, and as {"error": ...} on stdout with --json).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "ringlane/base/result.h"
#include "ringlane/sriov/vf_settings.h"
#include "ringlane/vfio/driver_binding.h"

namespace ringlane::ctl {

struct HostOptions {
  bool json = false;
  std::string root = "/";                   // where sysfs and procfs are (tests: a fake tree)
  std::string state_dir = "/run/ringlane";  // binding records, the VF pool
};

int pci_list(const HostOptions& o, const std::string& class_name);
int pci_show(const HostOptions& o, const std::string& address);
int pci_bind(const HostOptions& o, const std::string& address, const vfio::BindOptions& bind);
int pci_unbind(const HostOptions& o, const std::string& address);
int sriov_list(const HostOptions& o);
int sriov_create(const HostOptions& o, const std::string& pf, uint32_t count,
                 const std::string& driver);
// Refuses while the VF pool has given one of the PF's VFs to a guest, unless `force`.
int sriov_destroy(const HostOptions& o, const std::string& pf, bool force);

// VF settings as the command line gives them; absent ones are left alone.
struct VfSettingsArgs {
  std::optional<std::string> mac;
  std::optional<uint16_t> vlan;
  uint8_t qos = 0;
  std::string vlan_protocol = "802.1Q";
  std::optional<bool> spoof_check;
  std::optional<bool> trust;
  std::optional<uint32_t> min_rate_mbps;
  std::optional<uint32_t> max_rate_mbps;
  std::optional<std::string> link_state;
};
Result<sriov::VfSettings> to_vf_settings(const VfSettingsArgs& args);

// PF: its network interface, or its PCI address (then its interface is looked up).
int sriov_vfs(const HostOptions& o, const std::string& pf);
int sriov_set(const HostOptions& o, const std::string& pf, uint32_t vf, const VfSettingsArgs& args);
int pool_list(const HostOptions& o);
int pool_allocate(const HostOptions& o, const std::string& guest, const VfSettingsArgs& args,
                  const std::string& driver);
int pool_release(const HostOptions& o, const std::string& guest);
int pool_repair(const HostOptions& o);

}  // namespace ringlane::ctl
