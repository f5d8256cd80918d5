#include "ringlane/ctl/vm_view.h"

#include <vector>

#include "ringlane/ctl/text_table.h"

namespace ringlane::ctl {

using nlohmann::json;

std::string format_vm(const json& vm) {
  const json& exits = json_member(vm, "exits");
  std::string memory = json_field(vm, "memory_mib");
  std::vector<std::vector<std::string>> rows = {
      {"state:", json_field(vm, "state")},
      {"vcpus:", json_field(vm, "vcpus")},
      {"memory:", memory == "-" ? memory : memory + " MiB"},
      {"exits:", json_field(exits, "total") + " (port I/O " + json_field(exits, "pio") + ", MMIO " +
                     json_field(exits, "mmio") + ", unhandled port I/O " +
                     json_field(exits, "unhandled_pio") + ", unhandled MMIO " +
                     json_field(exits, "unhandled_mmio") + ")"},
      {"api requests:",
       json_field(vm, "api_requests") + " (" + json_field(vm, "api_bad_requests") + " bad)"},
  };
  return format_table(rows, 2);
}

std::string format_nics(const json& answer) {
  const json& nics = json_member(answer, "nics");
  if (!nics.is_array() || nics.empty()) return "no NICs\n";
  std::vector<std::vector<std::string>> rows = {{"NAME", "MODE", "MODEL", "MAC", "ACTIVE",
                                                 "RX_FRAMES", "TX_FRAMES", "RX_BYTES", "TX_BYTES",
                                                 "DROPS"}};
  for (const json& nic : nics) {
    const json& c = json_member(nic, "counters");
    rows.push_back({json_field(nic, "name"), json_field(nic, "mode"), json_field(nic, "model"),
                    json_field(nic, "mac"), json_field(nic, "active"), json_field(c, "rx_frames"),
                    json_field(c, "tx_frames"), json_field(c, "rx_bytes"),
                    json_field(c, "tx_bytes"), json_field(c, "drops")});
  }
  return format_table(rows, 5);
}

std::string format_nic(const json& nic) {
  return json_field(nic, "name") + ": mode " + json_field(nic, "mode") + " (" +
         json_field(nic, "model") + ", " + json_field(nic, "mac") + ")\n";
}

}  // namespace ringlane::ctl
