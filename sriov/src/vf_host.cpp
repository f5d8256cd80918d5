#include "ringlane/sriov/vf_host.h"

#include <cerrno>

namespace ringlane::sriov {

Result<VfSettings> NetlinkVfHost::settings(const std::string& pf_ifname, uint32_t index) {
  RINGLANE_ASSIGN_OR_RETURN(const LinkVfs link, link_.vf_settings(pf_ifname));
  for (const auto& vf : link.vfs) {
    if (vf.index == index) return vf.settings;
  }
  return Error(ENOENT, pf_ifname + " has no VF " + std::to_string(index) + " (it reports " +
                           std::to_string(link.vfs.size()) + " VFs)");
}

Status NetlinkVfHost::apply(const std::string& pf_ifname, uint32_t index,
                            const VfSettings& change) {
  return link_.apply(pf_ifname, index, change);
}

}  // namespace ringlane::sriov
