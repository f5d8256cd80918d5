#include "ringlane/sriov/vf_link.h"

#include <net/if.h>

#include <cerrno>

namespace ringlane::sriov {

Result<int> interface_index(const std::string& name) {
  unsigned index = ::if_nametoindex(name.c_str());
  if (index == 0) {
    if (errno == ENODEV || errno == ENXIO) {
      return Error(ENODEV, "no network interface named '" + name + "'");
    }
    return errno_error("look up network interface '" + name + "'");
  }
  return static_cast<int>(index);
}

Result<VfLink> VfLink::open(std::chrono::milliseconds timeout) {
  RINGLANE_ASSIGN_OR_RETURN(RouteSocket socket, RouteSocket::open(timeout));
  return VfLink(std::move(socket));
}

Result<LinkVfs> VfLink::vf_settings(const std::string& pf) {
  RINGLANE_ASSIGN_OR_RETURN(const int ifindex, interface_index(pf));
  const std::string what = "read the VFs of " + pf;
  RINGLANE_ASSIGN_OR_RETURN(
      const Bytes answer,
      socket_.transact(build_get_vfs_request(socket_.next_sequence(), ifindex), what));
  auto link = parse_get_vfs_answer(answer);
  if (!link.ok()) return Error(link.error().code(), what + ": " + link.error().message());
  return link;
}

Status VfLink::apply(const std::string& pf, uint32_t vf, const VfSettings& change) {
  const std::string what =
      "set VF " + std::to_string(vf) + " of " + pf + " (" + describe(change) + ")";
  auto ifindex = interface_index(pf);
  if (!ifindex.ok()) return Error(ifindex.error().code(), what + ": " + ifindex.error().message());
  auto request = build_set_vf_request(socket_.next_sequence(), *ifindex, vf, change);
  if (!request.ok()) return Error(request.error().code(), what + ": " + request.error().message());
  RINGLANE_TRY(socket_.transact(*request, what));
  return {};
}

}  // namespace ringlane::sriov
