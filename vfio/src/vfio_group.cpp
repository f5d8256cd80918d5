#include "ringlane/vfio/vfio_group.h"

#include <fcntl.h>
#include <linux/vfio.h>
#include <sys/ioctl.h>

#include "ringlane/vfio/vfio_device.h"

namespace ringlane::vfio {

Result<VfioGroup> VfioGroup::open_for(const PciAddress& address, const PciSysfs& sysfs,
                                      const std::string& dev_vfio) {
  const std::string bdf = address.to_string();
  auto driver = sysfs.driver(address);
  if (!driver.ok()) return driver.error();
  if (*driver != "vfio-pci") {
    return Error(EBUSY,
                 "PCI device " + bdf + " is " +
                     (driver->empty() ? std::string("bound to no driver") : "bound to " + *driver) +
                     ", not vfio-pci; bind it first (`ringlane-ctl pci bind " + bdf +
                     "`, or echo vfio-pci > " + sysfs.device_path(address) +
                     "/driver_override, unbind it and echo " + bdf +
                     " > /sys/bus/pci/drivers_probe)");
  }
  auto number = sysfs.iommu_group(address);
  if (!number.ok()) return number.error();
  const std::string path = dev_vfio + "/" + std::to_string(*number);
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
    std::string members;
    if (auto names = sysfs.group_devices(*number); names.ok()) {
      for (const auto& name : *names) {
        auto d = PciAddress::parse(name);
        auto bound = d.ok() ? sysfs.driver(*d) : Result<std::string>(std::string("?"));
        members += (members.empty() ? "" : ", ") + name + " (" +
                   (bound.ok() && !bound->empty() ? *bound : std::string("no driver")) + ")";
      }
    }
    return Error(EPERM, "IOMMU group " + std::to_string(*number) + " of " + bdf +
                            " is not viable: every device in /sys/kernel/iommu_groups/" +
                            std::to_string(*number) +
                            "/devices must be bound to vfio-pci (or to no driver); its "
                            "members: " +
                            members);
  }
  return VfioGroup(std::move(fd), *number);
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
