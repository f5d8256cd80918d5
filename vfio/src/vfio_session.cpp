#include "ringlane/vfio/vfio_session.h"

namespace ringlane::vfio {

Result<VfioSession> VfioSession::open(const PciAddress& address) {
  // The group first: its checks (bound to vfio-pci, viable) say more than the container's.
  auto group = VfioGroup::open_for(address);
  if (!group.ok()) return group.error();
  auto container = VfioContainer::open();
  if (!container.ok()) return container.error();
  RINGLANE_TRY(container->add_group(*group));
  auto device = group->open_device(address);
  if (!device.ok()) return device.error();
  return VfioSession{std::move(*container), std::move(*group), std::move(*device)};
}

}  // namespace ringlane::vfio
