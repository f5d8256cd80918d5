// make_port: the switch port a --port spec or [[port]] table describes, of any kind (vhost,
// afxdp, dpdk, tap), set going. Whatever the port needs of the host (the interface exists and is
// up, the permissions, the kernel's AF_XDP, DPDK accepting the devargs) is checked here, so a bad
// port fails with its name in the message before the workers start.
#pragma once

#include <memory>

#include "ringlane/base/event_loop.h"
#include "ringlane/base/quiescent_state.h"
#include "ringlane/base/result.h"
#include "ringlane/control/daemon_config.h"
#include "ringlane/dataplane/port.h"

namespace ringlane::dataplane {

// What ports share: the grace periods their memory is retired after, the control thread's loop
// (vhost-user sockets), and how DPDK's EAL is started should a dpdk port need it.
struct PortContext {
  QuiescentState* grace = nullptr;
  EventLoop* loop = nullptr;
  control::DpdkSettings dpdk;
  std::vector<int> worker_cores;  // DPDK's EAL is told of them
  // The switch learns addresses (--mode l2): an AF_XDP uplink steers to itself only frames for
  // them. Cross-connected, it takes every unicast frame not addressed to its host.
  bool learns_addresses = true;
  uint16_t port_index = 0;  // the index Engine::add_port will give the port being made
};

Result<std::unique_ptr<Port>> make_port(const control::PortConfig& config, PortContext& context);

// One per kind, each beside its port's code.
Result<std::unique_ptr<Port>> make_vhost_port(const control::PortConfig& config,
                                              PortContext& context);
Result<std::unique_ptr<Port>> make_afxdp_port(const control::PortConfig& config,
                                              PortContext& context);
Result<std::unique_ptr<Port>> make_dpdk_port(const control::PortConfig& config,
                                             PortContext& context);
Result<std::unique_ptr<Port>> make_tap_port(const control::PortConfig& config,
                                            PortContext& context);

}  // namespace ringlane::dataplane
