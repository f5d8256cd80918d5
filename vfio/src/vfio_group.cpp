#include "ringlane/vfio/vfio_group.h"

#include <fcntl.h>
#include <linux/vfio.h>
#include <sys/ioctl.h>

#include "ringlane/vfio/iommu_group.h"
#include "ringlane/vfio/pci_device.h"
#include "ringlane/vfio/vfio_device.h"

namespace ringlane::vfio {

Result<VfioGroup> VfioGroup::open_for(const PciAddress& address) {
  HostKernelFiles files;
  return open_for(address, files, "/dev/vfio");
}

Result<VfioGroup> VfioGroup::open_for(const PciAddress& address, KernelFiles& files,
                                      const std::string& dev_vfio) {
  const std::string bdf = address.to_string();
  RINGLANE_ASSIGN_OR_RETURN(const PciDevice device, read_pci_device(files, address));
  if (device.driver != "vfio-pci") {
    return Error(EBUSY, "PCI device " + bdf + " is " +
                            (device.driver.empty() ? std::string("bound to no driver")
                                                   : "bound to " + device.driver) +
                            ", not vfio-pci; bind it first (ringlane-ctl pci bind " + bdf + ")");
  }
  if (!device.iommu_group) {
    return Error(ENODEV, "PCI device " + bdf +
                             " is in no IOMMU group: is the IOMMU on (intel_iommu=on or "
                             "amd_iommu=on on the kernel command line)?");
  }
  const uint32_t number = *device.iommu_group;
  const std::string path = dev_vfio + "/" + std::to_string(number);
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd) {
    if (errno == EBUSY) {
      return Error(EBUSY, "open " + path + " (IOMMU group of " + bdf +
                              "): the group is already open in another process");
    }
    return errno_error("open " + path + " (IOMMU group of " + bdf + ")");
  }
  vfio_group_status status{};
  status.argsz = sizeof(status);
  if (::ioctl(fd.get(), VFIO_GROUP_GET_STATUS, &status) != 0) {
    return errno_error("VFIO_GROUP_GET_STATUS on " + path);
  }
  if ((status.flags & VFIO_GROUP_FLAGS_VIABLE) == 0) {
    Result<IommuGroup> group = read_iommu_group(files, number);
    std::string members =
        group.ok() ? describe_devices(devices_blocking_vfio(*group, address)) : "?";
    return Error(EPERM, "IOMMU group " + std::to_string(number) + " of " + bdf +
                            " is not viable: every device in it must be bound to vfio-pci (or to "
                            "no driver), and these are not: " +
                            members + "; ringlane-ctl pci bind --whole-group " + bdf +
                            " binds them too");
  }
  return VfioGroup(std::move(fd), static_cast<int>(number));
}

Result<VfioDevice> VfioGroup::open_device(const PciAddress& address) {
  const std::string bdf = address.to_string();
  if (!in_container_) {
    return Error(EINVAL, "open " + bdf + ": IOMMU group " + std::to_string(number_) +
                             " is not in a VFIO container yet");
  }
  int fd = ::ioctl(fd_.get(), VFIO_GROUP_GET_DEVICE_FD, bdf.c_str());
  if (fd < 0) {
    return errno_error("get the VFIO device fd of " + bdf + " from IOMMU group " +
                       std::to_string(number_));
  }
  return VfioDevice::from_fd(UniqueFd(fd), address);
}

}  // namespace ringlane::vfio
