// DriverBinding moves PCI devices between drivers the way the kernel intends for it:
// driver_override names the new driver, the old one lets go (unbind), drivers_probe binds —
// never new_id, which would also claim every other device with the same IDs. The original
// driver of each device it moves is recorded in a state file (written atomically, before the
// move, under a lock so concurrent commands take turns) so that restore() returns the device to
// it, in this run or a later one.
// Refusals, each with a message that says what to do: a device whose IOMMU group other devices
// keep from being viable for VFIO (they are named), a NIC carrying host routes (unless forced),
// a driver that is not loaded.
#pragma once

#include <string>
#include <vector>

#include "ringlane/base/result.h"
#include "ringlane/vfio/kernel_files.h"
#include "ringlane/vfio/pci_address.h"
#include "ringlane/vfio/pci_device.h"

namespace ringlane::vfio {

inline constexpr const char* kDefaultBindingState = "/run/ringlane/pci-bindings.json";

struct BindingRecord {
  PciAddress device;
  std::string original_driver;  // empty: it had none
  std::string driver;           // what it was bound to
};

struct BindOptions {
  std::string driver = "vfio-pci";
  bool force = false;  // unbind a NIC even though host routes go through it
  // vfio-pci only: first bind the other devices of the IOMMU group that keep it from being
  // viable (a group is VFIO's unit), instead of refusing.
  bool whole_group = false;
};

struct BindOutcome {
  PciDevice device;             // as it is now
  std::string previous_driver;  // before this call
  bool changed = false;         // false: it already was where asked
};

class DriverBinding {
 public:
  DriverBinding(KernelFiles& files, std::string state_path)
      : files_(files), state_path_(std::move(state_path)) {}

  Result<BindOutcome> bind(const PciAddress& address, const BindOptions& options);
  // Back to the recorded original driver (none: the kernel's own choice, through
  // drivers_probe), the record dropped.
  Result<BindOutcome> restore(const PciAddress& address);
  // Drops the record of a device that is gone (a destroyed VF). No record: nothing to do.
  Status forget(const PciAddress& address);
  Result<std::vector<BindingRecord>> records() const;

 private:
  // The state file as it is; callers of these hold the state file's lock.
  Result<std::vector<BindingRecord>> load_records() const;
  Status save_records(const std::vector<BindingRecord>& records) const;
  Status check_routes(const PciDevice& device, bool force);
  Status bind_one(const PciDevice& device, const std::string& driver);
  Status move_to(const PciDevice& device, const std::string& driver);
  Result<PciDevice> wait_for_driver(const PciAddress& address, const std::string& driver);

  KernelFiles& files_;
  std::string state_path_;
};

}  // namespace ringlane::vfio
