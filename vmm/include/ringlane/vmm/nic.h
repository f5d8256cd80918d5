// A guest NIC as the command line (and later the API) describes it, and how one is built and
// plugged into a machine's PCI bus.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "ringlane/base/result.h"
#include "ringlane/vmm/machine.h"

namespace ringlane::vmm {

enum class NicMode { virtio };

struct NicSpec {
  std::string name;  // net0, net1, ...
  NicMode mode = NicMode::virtio;
  std::string tap;
  std::array<uint8_t, 6> mac{};
  uint16_t queue_size = 256;
};

// Parses "mode=virtio,tap=NAME[,mac=..][,queue-size=N]"; `index` names the NIC (net<index>) and
// picks its default MAC address (52:54:00:12:34:56 + index).
Result<NicSpec> parse_nic_spec(const std::string& text, size_t index);
// Builds the NIC and its backend and puts it on the machine's PCI bus.
Status attach_nic(Machine& machine, const NicSpec& spec);

}  // namespace ringlane::vmm
