#include "ringlane/dataplane/port_factory.h"

namespace ringlane::dataplane {

// Placeholder until the DPDK port lands: the configuration is accepted and refused here, in words.
Result<std::unique_ptr<Port>> make_dpdk_port(const control::PortConfig& /*config*/,
                                             PortContext& /*context*/) {
  return Error(
      ENOTSUP,
      "ports of kind dpdk are not built yet (issue 14: DPDK ethdev ports are being built)");
}

}  // namespace ringlane::dataplane
