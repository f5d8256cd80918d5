// SR-IOV virtual functions through sysfs: list physical functions and their VFs, create VFs in
// the safe order (driver autoprobe off, sriov_numvfs, wait for every virtfnN link, then bind
// each to the driver asked for), destroy them. The kernel refuses what the device cannot do;
// its reason reaches the user with what it means.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "ringlane/base/result.h"
#include "ringlane/vfio/driver_binding.h"
#include "ringlane/vfio/kernel_files.h"
#include "ringlane/vfio/pci_address.h"
#include "ringlane/vfio/pci_device.h"

namespace ringlane::sriov {

struct VirtualFunction {
  uint32_t index = 0;  // N of the PF's virtfnN
  vfio::PciDevice device;
};

struct PhysicalFunction {
  vfio::PciDevice device;
  std::vector<VirtualFunction> vfs;
};

Result<PhysicalFunction> read_physical_function(vfio::KernelFiles& files,
                                                const vfio::PciAddress& pf);
// Every device that can have VFs, whether it has any now.
Result<std::vector<PhysicalFunction>> list_physical_functions(vfio::KernelFiles& files);

struct CreateOptions {
  uint32_t count = 1;
  std::string driver{};  // bind each VF to it (through DriverBinding); empty: leave them unbound
  std::chrono::milliseconds timeout{10000};  // for the VFs to appear
};

// Idempotent: the same count again only binds what is not yet bound. A different non-zero count
// while VFs exist is refused (the kernel wants them destroyed first).
Result<PhysicalFunction> create_vfs(vfio::KernelFiles& files, vfio::DriverBinding& binding,
                                    const vfio::PciAddress& pf, const CreateOptions& options);
// Removes every VF of `pf` (their binding records go too). Idempotent.
Result<PhysicalFunction> destroy_vfs(vfio::KernelFiles& files, vfio::DriverBinding& binding,
                                     const vfio::PciAddress& pf);

}  // namespace ringlane::sriov
