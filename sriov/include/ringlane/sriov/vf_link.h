// VfLink: a PF's virtual functions read and changed over rtnetlink, by interface name. The
// socket belongs to the network namespace it was opened in, while names are looked up in the
// caller's: open and use a VfLink in one namespace.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "ringlane/base/result.h"
#include "ringlane/sriov/route_socket.h"
#include "ringlane/sriov/vf_link_messages.h"
#include "ringlane/sriov/vf_settings.h"

namespace ringlane::sriov {

class VfLink {
 public:
  static Result<VfLink> open(std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // Every VF of `pf` with its current settings; an empty list for a device without VFs (or
  // without SR-IOV at all). ENODEV if there is no such interface.
  Result<LinkVfs> vf_settings(const std::string& pf);

  // Changes the fields present in `change` on VF `vf` of `pf`. A refusal carries the kernel's
  // errno and its own explanation when it gave one ("set VF 0 of eth0 (mac ...): ...").
  Status apply(const std::string& pf, uint32_t vf, const VfSettings& change);

 private:
  explicit VfLink(RouteSocket socket) : socket_(std::move(socket)) {}

  RouteSocket socket_;
};

// The interface index of `name`, ENODEV with a message naming it if there is none.
Result<int> interface_index(const std::string& name);

}  // namespace ringlane::sriov
