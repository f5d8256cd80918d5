#include "ringlane/dataplane/port_factory.h"

namespace ringlane::dataplane {

// Placeholder until the TAP port lands: the configuration is accepted and refused here, in words.
Result<std::unique_ptr<Port>> make_tap_port(const control::PortConfig& /*config*/,
                                            PortContext& /*context*/) {
  return Error(ENOTSUP,
               "ports of kind tap are not built yet (issue 14: TAP ports are being built)");
}

}  // namespace ringlane::dataplane
