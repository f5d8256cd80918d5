#include "ringlane/dataplane/port_factory.h"

namespace ringlane::dataplane {

Result<std::unique_ptr<Port>> make_port(const control::PortConfig& config, PortContext& context) {
  Result<std::unique_ptr<Port>> port = [&]() -> Result<std::unique_ptr<Port>> {
    switch (config.kind) {
      case control::PortKind::vhost:
        return make_vhost_port(config, context);
      case control::PortKind::afxdp:
        return make_afxdp_port(config, context);
      case control::PortKind::dpdk:
        return make_dpdk_port(config, context);
      case control::PortKind::tap:
        return make_tap_port(config, context);
    }
    return Error(EINVAL, "unknown port kind");
  }();
  if (!port) {
    return Error(port.error().code(), "port '" + config.name + "': " + port.error().to_string());
  }
  return port;
}

}  // namespace ringlane::dataplane
