// ringlane-ctl's commands on this host's PCI devices and SR-IOV functions (pci ..., sriov ...):
// each prints its result (JSON with --json) and returns the exit status: 0 done, 1 refused (the
// reason on stderr, and as {"error": ...} on stdout with --json).
#pragma once

#include <string>

#include "ringlane/vfio/driver_binding.h"

namespace ringlane::ctl {

struct HostOptions {
  bool json = false;
  std::string root = "/";                   // where sysfs and procfs are (tests: a fake tree)
  std::string state_dir = "/run/ringlane";  // binding records
};

int pci_list(const HostOptions& o, const std::string& class_name);
int pci_show(const HostOptions& o, const std::string& address);
int pci_bind(const HostOptions& o, const std::string& address, const vfio::BindOptions& bind);
int pci_unbind(const HostOptions& o, const std::string& address);
int sriov_list(const HostOptions& o);
int sriov_create(const HostOptions& o, const std::string& pf, uint32_t count,
                 const std::string& driver);
int sriov_destroy(const HostOptions& o, const std::string& pf);

}  // namespace ringlane::ctl
