#include "ringlane/dataplane/port_factory.h"

namespace ringlane::dataplane {

// Placeholder until the AF_XDP port lands: the configuration is accepted and refused here, in
// words.
Result<std::unique_ptr<Port>> make_afxdp_port(const control::PortConfig& /*config*/,
                                              PortContext& /*context*/) {
  return Error(ENOTSUP,
               "ports of kind afxdp are not built yet (issue 14: AF_XDP ports are being built)");
}

}  // namespace ringlane::dataplane
