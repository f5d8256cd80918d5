#include "ringlane/ctl/vm_view.h"

#include <algorithm>
#include <vector>

namespace ringlane::ctl {

namespace {

using nlohmann::json;

// The value at `key` of an object as text, "-" when absent.
std::string field(const json& object, const char* key) {
  if (!object.is_object()) return "-";
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return "-";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_boolean()) return it->get<bool>() ? "yes" : "no";
  return it->dump(-1, ' ', false, json::error_handler_t::replace);
}

const json& member(const json& object, const char* key) {
  static const json missing;
  if (!object.is_object()) return missing;
  auto it = object.find(key);
  return it == object.end() ? missing : *it;
}

// Columns padded to their widest cell; numbers (right_from onwards) aligned right.
std::string table(const std::vector<std::vector<std::string>>& rows, size_t right_from) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()), 0);
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      std::string pad(width[i] - row[i].size(), ' ');
      if (i > 0) line += "  ";
      line += i >= right_from ? pad + row[i] : row[i] + (i + 1 < row.size() ? pad : "");
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace

std::string format_vm(const json& vm) {
  const json& exits = member(vm, "exits");
  std::string memory = field(vm, "memory_mib");
  std::vector<std::vector<std::string>> rows = {
      {"state:", field(vm, "state")},
      {"vcpus:", field(vm, "vcpus")},
      {"memory:", memory == "-" ? memory : memory + " MiB"},
      {"exits:", field(exits, "total") + " (port I/O " + field(exits, "pio") + ", MMIO " +
                     field(exits, "mmio") + ", unhandled port I/O " +
                     field(exits, "unhandled_pio") + ", unhandled MMIO " +
                     field(exits, "unhandled_mmio") + ")"},
      {"api requests:", field(vm, "api_requests") + " (" + field(vm, "api_bad_requests") + " bad)"},
  };
  return table(rows, 2);
}

std::string format_nics(const json& answer) {
  const json& nics = member(answer, "nics");
  if (!nics.is_array() || nics.empty()) return "no NICs\n";
  std::vector<std::vector<std::string>> rows = {{"NAME", "MODE", "MODEL", "MAC", "ACTIVE",
                                                 "RX_FRAMES", "TX_FRAMES", "RX_BYTES", "TX_BYTES",
                                                 "DROPS"}};
  for (const json& nic : nics) {
    const json& c = member(nic, "counters");
    rows.push_back({field(nic, "name"), field(nic, "mode"), field(nic, "model"), field(nic, "mac"),
                    field(nic, "active"), field(c, "rx_frames"), field(c, "tx_frames"),
                    field(c, "rx_bytes"), field(c, "tx_bytes"), field(c, "drops")});
  }
  return table(rows, 5);
}

std::string format_nic(const json& nic) {
  return field(nic, "name") + ": mode " + field(nic, "mode") + " (" + field(nic, "model") + ", " +
         field(nic, "mac") + ")\n";
}

}  // namespace ringlane::ctl
