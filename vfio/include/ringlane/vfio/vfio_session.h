// VfioSession: everything it takes to use one PCI device through VFIO, in the order the kernel
// wants it: a container, the device's group in it (which sets the IOMMU), then the device.
#pragma once

#include <memory>

#include "ringlane/base/result.h"
#include "ringlane/vfio/pci_address.h"
#include "ringlane/vfio/vfio_container.h"
#include "ringlane/vfio/vfio_device.h"
#include "ringlane/vfio/vfio_group.h"

namespace ringlane::vfio {

struct VfioSession {
  // Declared so that the device closes first, then the group, then the container.
  VfioContainer container;
  VfioGroup group;
  VfioDevice device;

  static Result<VfioSession> open(const PciAddress& address);
};

}  // namespace ringlane::vfio
