// VfioGroup: /dev/vfio/N, an IOMMU group, the unit of isolation VFIO hands out. It is usable
// (viable) only when every device in it is bound to vfio-pci (or to no driver); its devices are
// opened through it once it is in a container.
#pragma once

#include <string>

#include "ringlane/base/result.h"
#include "ringlane/base/unique_fd.h"
#include "ringlane/vfio/kernel_files.h"
#include "ringlane/vfio/pci_address.h"

namespace ringlane::vfio {

class VfioDevice;

class VfioGroup {
 public:
  // The group of the device at `address`: checks that the device exists and is bound to
  // vfio-pci, opens /dev/vfio/N and checks that the group is viable, each with a message that
  // says what to do.
  static Result<VfioGroup> open_for(const PciAddress& address);
  // The same with sysfs and /dev/vfio elsewhere (tests).
  static Result<VfioGroup> open_for(const PciAddress& address, KernelFiles& files,
                                    const std::string& dev_vfio);

  // The device's own fd; the group must be in a container.
  Result<VfioDevice> open_device(const PciAddress& address);

  int number() const { return number_; }
  int fd() const { return fd_.get(); }
  bool in_container() const { return in_container_; }

 private:
  friend class VfioContainer;
  VfioGroup(UniqueFd fd, int number) : fd_(std::move(fd)), number_(number) {}

  UniqueFd fd_;
  int number_ = -1;
  bool in_container_ = false;
};

}  // namespace ringlane::vfio
