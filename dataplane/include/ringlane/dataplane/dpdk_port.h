// DpdkPort: a DPDK ethdev as a switch port (--port kind=dpdk,devargs=...), made by
// make_dpdk_port (port_factory.h); the port itself is private to dpdk_port.cpp. Received frames
// are the mbufs' own bytes (no copy), given back in bulk at release; transmitted packets are
// copied once into fresh mbufs, with the packet's checksum or segmentation request handed to
// the NIC when it has the offload (nic_offload.h), and done in software otherwise. This header
// holds what needs no DPDK: the hook the daemon runs on each worker thread.
#pragma once

#include <functional>
#include <vector>

#include "ringlane/control/daemon_config.h"
#include "ringlane/dataplane/nic_offload.h"

namespace ringlane::dataplane {

// For EngineConfig::worker_init: when any of `ports` is a dpdk port, each worker registers its
// thread with DPDK (an lcore id of its own, so that mempool caches serve it); otherwise, or in a
// ringlane built without DPDK, nothing (an empty function).
std::function<void()> dpdk_worker_init(const std::vector<control::PortConfig>& ports);

}  // namespace ringlane::dataplane
