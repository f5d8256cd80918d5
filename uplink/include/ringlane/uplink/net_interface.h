// What an AF_XDP uplink needs to know of a host interface before it touches it (exists, up, its
// address, MTU, receive queues, driver), and whether this process and kernel can serve one at
// all (capabilities, AF_XDP sockets). Each refusal says what to mend.
#pragma once

#include <cstdint>
#include <string>

#include "ringlane/base/result.h"

namespace ringlane::uplink {

struct InterfaceInfo {
  std::string name;
  int ifindex = 0;
  bool up = false;       // administratively (IFF_UP)
  bool running = false;  // carrier (IFF_RUNNING)
  uint64_t mac = 0;      // 48 bits, first octet most significant
  uint32_t mtu = 0;
  uint32_t rx_queues = 1;  // the kernel's real receive queues
  std::string driver;      // ethtool's driver name, or empty
};

// Looks `name` up in this network namespace: "does not exist" when it is missing.
Result<InterfaceInfo> inspect_interface(const std::string& name);
// Whether `name` has carrier now (IFF_RUNNING); false when it cannot be asked.
bool interface_running(const std::string& name);
// Whether this process may load XDP programs and open AF_XDP sockets: root, or CAP_NET_ADMIN,
// CAP_NET_RAW and CAP_BPF (or CAP_SYS_ADMIN) in its effective set.
Status check_xdp_permissions();
// Whether the kernel offers AF_XDP sockets (CONFIG_XDP_SOCKETS).
Status check_af_xdp_sockets();

}  // namespace ringlane::uplink
