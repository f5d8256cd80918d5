// Which network interfaces carry the host's routes (procfs's IPv4 table and IPv6 default
// routes): a NIC that does must not be unbound by accident, or the host drops off the network.
#pragma once

#include <string>
#include <vector>

#include "ringlane/base/result.h"
#include "ringlane/vfio/kernel_files.h"

namespace ringlane::vfio {

struct HostRoute {
  std::string interface;
  std::string destination;  // "default" or "10.0.0.0/24", "::/0"
};

// The routes (up) through any of `interfaces`.
Result<std::vector<HostRoute>> routes_through(KernelFiles& files,
                                              const std::vector<std::string>& interfaces);

}  // namespace ringlane::vfio
