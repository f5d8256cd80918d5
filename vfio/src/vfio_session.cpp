#include "ringlane/vfio/vfio_session.h"

namespace ringlane::vfio {

Result<VfioSession> VfioSession::open(const PciAddress& address) {
  // The group first: its checks (bound to vfio-pci, viable) say more than the container's.
  RINGLANE_ASSIGN_OR_RETURN(VfioGroup group, VfioGroup::open_for(address));
  RINGLANE_ASSIGN_OR_RETURN(VfioContainer container, VfioContainer::open());
  RINGLANE_TRY(container.add_group(group));
  RINGLANE_ASSIGN_OR_RETURN(VfioDevice device, group.open_device(address));
  return VfioSession{std::move(container), std::move(group), std::move(device)};
}

}  // namespace ringlane::vfio
