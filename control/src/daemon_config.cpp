#include "ringlane/control/daemon_config.h"

#include "ringlane/control/idle_policy.h"

#define TOML_EXCEPTIONS 0  // parse errors come back as values, not exceptions
#define TOML_HEADER_ONLY 1
// toml++ 3.3 asserts on some malformed table headers ("[\x1b]", "[[[") before reporting them
// as parse errors (upstream tomlplusplus#301); a bad config file must give an error, not abort.
#define TOML_ASSERT(expr) static_assert(true)
#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <string_view>

#include "ringlane/base/option_parser.h"
#include "ringlane/virtio/spec.h"

namespace ringlane::control {

namespace {

// A port's keys, in the order an unknown key's error lists them.
constexpr std::array<std::string_view, 13> kPortKeys = {
    "name",   "kind", "path",     "mode",    "queues", "disable", "type",
    "ifname", "xdp",  "zerocopy", "devargs", "vlan",   "trunk"};

// The limit on a port's queue pairs and a disk's queues alike.
constexpr uint16_t kMaxQueues = kMaxDiskQueues;

// For a spec's queues= and validate()'s check of a disk built in code, in the same words.
std::string bad_queues(std::string_view where, std::string_view got) {
  return std::string(where) + ": queues must be 1-" + std::to_string(kMaxQueues) + ", got '" +
         std::string(got) + "'";
}

Result<uint16_t> parse_queues(std::string_view text, std::string_view where) {
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value < 1 || value > kMaxQueues) {
    return Error(EINVAL, bad_queues(where, text));
  }
  return static_cast<uint16_t>(value);
}

std::vector<std::string> split(std::string_view text, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(sep, start);
    if (end == std::string_view::npos) end = text.size();
    out.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// true for a client socket (ringlane connects), false for a server socket (ringlane listens).
Result<bool> parse_socket_mode(std::string_view mode, std::string_view where) {
  if (mode == "server") return false;
  if (mode == "client") return true;
  return Error(EINVAL, std::string(where) + ": socket mode must be 'server' or 'client', got '" +
                           std::string(mode) + "'");
}

Result<bool> parse_on_off(std::string_view key, std::string_view value, std::string_view where) {
  if (value == "on") return true;
  if (value == "off") return false;
  return Error(EINVAL, std::string(where) + ": " + std::string(key) +
                           " must be 'on' or 'off', got '" + std::string(value) + "'");
}

Result<PortKind> parse_kind(std::string_view text, std::string_view where) {
  for (PortKind k : {PortKind::vhost, PortKind::afxdp, PortKind::dpdk, PortKind::tap}) {
    if (text == to_string(k)) return k;
  }
  return Error(EINVAL, std::string(where) + ": kind must be vhost, afxdp, dpdk or tap, got '" +
                           std::string(text) + "'");
}

Result<XdpAttach> parse_xdp(std::string_view text, std::string_view where) {
  if (text == "auto") return XdpAttach::automatic;
  if (text == "native") return XdpAttach::native;
  if (text == "generic") return XdpAttach::generic;
  return Error(EINVAL, std::string(where) + ": xdp must be auto, native or generic, got '" +
                           std::string(text) + "'");
}

Result<ZeroCopy> parse_zerocopy(std::string_view text, std::string_view where) {
  if (text == "auto") return ZeroCopy::automatic;
  if (text == "on") return ZeroCopy::on;
  if (text == "off") return ZeroCopy::off;
  return Error(EINVAL, std::string(where) + ": zerocopy must be auto, on or off, got '" +
                           std::string(text) + "'");
}

Result<uint16_t> parse_vlan(std::string_view text, std::string_view where) {
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value < 1 || value > kMaxVlan) {
    return Error(EINVAL, std::string(where) + ": a VLAN id must be 1-" + std::to_string(kMaxVlan) +
                             ", got '" + std::string(text) + "'");
  }
  return static_cast<uint16_t>(value);
}

// A trunk's VLANs, sorted; one given twice is refused.
Result<std::vector<uint16_t>> parse_trunk(const std::vector<std::string>& items,
                                          std::string_view where) {
  std::vector<uint16_t> vlans;
  for (const std::string& item : items) {
    RINGLANE_ASSIGN_OR_RETURN(uint16_t vlan, parse_vlan(item, where));
    vlans.push_back(vlan);
  }
  std::sort(vlans.begin(), vlans.end());
  if (auto dup = std::adjacent_find(vlans.begin(), vlans.end()); dup != vlans.end()) {
    return Error(EINVAL,
                 std::string(where) + ": VLAN " + std::to_string(*dup) + " is in the trunk twice");
  }
  return vlans;
}

// Which keys each kind takes besides name, kind, vlan and trunk ("type" is kind=vhost's older
// spelling); a key of another kind is refused, so a typo'd kind is not silently a vhost port.
bool key_belongs(PortKind kind, std::string_view key) {
  static const std::set<std::string_view> common = {"name", "kind", "vlan", "trunk"};
  if (common.count(key)) return true;
  switch (kind) {
    case PortKind::vhost:
      return key == "path" || key == "mode" || key == "socket_mode" || key == "queues" ||
             key == "disable" || key == "type";
    case PortKind::afxdp:
      return key == "ifname" || key == "queues" || key == "xdp" || key == "zerocopy";
    case PortKind::dpdk:
      return key == "devargs" || key == "queues";
    case PortKind::tap:
      return key == "ifname";
  }
  return false;
}

// The checks a port spec and a [[port]] table share once every key is read.
Status check_port(const PortConfig& port, const std::vector<std::string>& keys,
                  std::string_view where) {
  std::string w(where);
  for (const std::string& key : keys) {
    if (!key_belongs(port.kind, key)) {
      return Error(EINVAL,
                   w + ": '" + key + "' does not apply to a port of kind " + to_string(port.kind));
    }
  }
  if (port.name.empty()) return Error(EINVAL, w + ": missing name=");
  if (port.kind == PortKind::vhost && port.socket_path.empty()) {
    return Error(EINVAL, w + ": missing path=");
  }
  if ((port.kind == PortKind::afxdp || port.kind == PortKind::tap) && port.ifname.empty()) {
    return Error(EINVAL, w + ": missing ifname=");
  }
  if (port.kind == PortKind::dpdk && port.devargs.empty()) {
    return Error(EINVAL, w + ": missing devargs=");
  }
  if (port.access_vlan != 0 && !port.trunk_vlans.empty()) {
    return Error(EINVAL, w + ": a port is an access port (vlan=) or a trunk (trunk=), not both");
  }
  return {};
}

// parse_options takes key=value items only; a bare `readonly` (the issue's syntax, like QEMU's)
// becomes readonly=on. Items never hold a ',', so rewriting item by item is exact.
std::string expand_bare_readonly(std::string_view spec) {
  std::string out;
  for (const std::string& item : split(spec, ',')) {
    out += item == "readonly" ? "readonly=on" : item;
    out += ',';
  }
  out.pop_back();  // split gives at least one item
  return out;
}

// TOML values, with the errors the [[port]] and [[disk]] tables share.
Result<std::string> toml_string(const toml::node& node, std::string_view key,
                                std::string_view where) {
  if (!node.is_string()) {
    return Error(EINVAL, std::string(where) + ": '" + std::string(key) + "' must be a string");
  }
  return node.as_string()->get();
}

Result<bool> toml_bool(const toml::node& node, std::string_view key, std::string_view where) {
  if (!node.is_boolean()) {
    return Error(EINVAL, std::string(where) + ": '" + std::string(key) + "' must be true or false");
  }
  return node.as_boolean()->get();
}

Result<uint16_t> toml_queues(const toml::node& node, std::string_view where) {
  // value<int64_t>() alone would also take true as 1 and 2.0 as 2.
  auto v = node.is_integer() ? node.value<int64_t>() : std::nullopt;
  if (!v || *v < 1 || *v > kMaxQueues) {
    return Error(EINVAL, std::string(where) + ": 'queues' must be an integer 1-" +
                             std::to_string(kMaxQueues));
  }
  return static_cast<uint16_t>(*v);
}

Result<std::vector<std::string>> toml_strings(const toml::node& node, std::string_view key,
                                              std::string_view where) {
  auto* arr = node.as_array();
  std::string message =
      std::string(where) + ": '" + std::string(key) + "' must be an array of strings";
  if (!arr) return Error(EINVAL, message);
  std::vector<std::string> out;
  for (auto&& item : *arr) {
    if (!item.is_string()) return Error(EINVAL, message);
    out.push_back(item.as_string()->get());
  }
  return out;
}

Result<PortConfig> parse_port_table(const toml::table& table, const std::string& where) {
  PortConfig port;
  std::vector<std::string> keys;
  // The kind first: the other keys are checked against it.
  if (const toml::node* kind = table.get("kind")) {
    RINGLANE_ASSIGN_OR_RETURN(std::string text, toml_string(*kind, "kind", where));
    RINGLANE_ASSIGN_OR_RETURN(port.kind, parse_kind(text, where));
  }
  for (auto&& [key, value] : table) {
    std::string k(key.str());
    keys.push_back(k);
    if (k == "kind") continue;
    if (k == "name") {
      RINGLANE_ASSIGN_OR_RETURN(port.name, toml_string(value, k, where));
    } else if (k == "path") {
      RINGLANE_ASSIGN_OR_RETURN(port.socket_path, toml_string(value, k, where));
    } else if (k == "type") {
      RINGLANE_ASSIGN_OR_RETURN(port.type, toml_string(value, k, where));
    } else if (k == "socket_mode") {
      RINGLANE_ASSIGN_OR_RETURN(std::string mode, toml_string(value, k, where));
      RINGLANE_ASSIGN_OR_RETURN(port.client_mode, parse_socket_mode(mode, where));
    } else if (k == "queues") {
      RINGLANE_ASSIGN_OR_RETURN(port.queue_pairs, toml_queues(value, where));
    } else if (k == "disable") {
      RINGLANE_ASSIGN_OR_RETURN(port.disabled_features, toml_strings(value, k, where));
    } else if (k == "ifname") {
      RINGLANE_ASSIGN_OR_RETURN(port.ifname, toml_string(value, k, where));
    } else if (k == "devargs") {
      RINGLANE_ASSIGN_OR_RETURN(port.devargs, toml_string(value, k, where));
    } else if (k == "xdp") {
      RINGLANE_ASSIGN_OR_RETURN(std::string text, toml_string(value, k, where));
      RINGLANE_ASSIGN_OR_RETURN(port.xdp, parse_xdp(text, where));
    } else if (k == "zerocopy") {
      RINGLANE_ASSIGN_OR_RETURN(std::string text, toml_string(value, k, where));
      RINGLANE_ASSIGN_OR_RETURN(port.zerocopy, parse_zerocopy(text, where));
    } else if (k == "vlan" || k == "trunk") {
      // Integers in TOML; checked in the spec's words.
      std::vector<std::string> items;
      if (auto v = value.is_integer() ? value.value<int64_t>() : std::nullopt; v && k == "vlan") {
        items.push_back(std::to_string(*v));
      } else if (auto* arr = value.as_array(); arr && k == "trunk") {
        for (auto&& item : *arr) {
          auto id = item.is_integer() ? item.value<int64_t>() : std::nullopt;
          if (!id) return Error(EINVAL, where + ": 'trunk' must be an array of VLAN ids");
          items.push_back(std::to_string(*id));
        }
      } else {
        return Error(EINVAL, where + (k == "vlan" ? ": 'vlan' must be a VLAN id (an integer)"
                                                  : ": 'trunk' must be an array of VLAN ids"));
      }
      if (k == "vlan") {
        RINGLANE_ASSIGN_OR_RETURN(port.access_vlan, parse_vlan(items[0], where));
      } else {
        RINGLANE_ASSIGN_OR_RETURN(port.trunk_vlans, parse_trunk(items, where));
      }
    } else {
      return Error(EINVAL, where + ": unknown key '" + k + "'");
    }
  }
  if (port.kind == PortKind::vhost && (port.name.empty() || port.socket_path.empty())) {
    return Error(EINVAL, where + ": 'name' and 'path' are required");
  }
  RINGLANE_TRY(check_port(port, keys, where));
  return port;
}

// The keys are the --disk spec's, but for the socket mode: socket_mode as in [[port]], where a
// bare `mode` would read as the top-level forwarding mode's.
Result<DiskConfig> parse_disk_table(const toml::table& table, const std::string& where) {
  DiskConfig disk;
  for (auto&& [key, value] : table) {
    std::string k(key.str());
    if (k == "name") {
      RINGLANE_ASSIGN_OR_RETURN(disk.name, toml_string(value, k, where));
    } else if (k == "path") {
      RINGLANE_ASSIGN_OR_RETURN(disk.socket_path, toml_string(value, k, where));
    } else if (k == "file") {
      RINGLANE_ASSIGN_OR_RETURN(disk.image_path, toml_string(value, k, where));
    } else if (k == "socket_mode") {
      RINGLANE_ASSIGN_OR_RETURN(std::string mode, toml_string(value, k, where));
      RINGLANE_ASSIGN_OR_RETURN(disk.client_mode, parse_socket_mode(mode, where));
    } else if (k == "readonly") {
      RINGLANE_ASSIGN_OR_RETURN(disk.readonly, toml_bool(value, k, where));
    } else if (k == "queues") {
      RINGLANE_ASSIGN_OR_RETURN(disk.queues, toml_queues(value, where));
    } else if (k == "direct") {
      RINGLANE_ASSIGN_OR_RETURN(disk.direct, toml_bool(value, k, where));
    } else if (k == "discard") {
      RINGLANE_ASSIGN_OR_RETURN(disk.discard, toml_bool(value, k, where));
    } else {
      return Error(EINVAL, where + ": unknown key '" + k + "'");
    }
  }
  if (disk.name.empty() || disk.socket_path.empty() || disk.image_path.empty()) {
    return Error(EINVAL, where + ": 'name', 'path' and 'file' are required");
  }
  return disk;
}

// Appends to `out` what `parse` makes of each table of the array of tables `key` ([[key]]).
template <typename T, typename Parse>
Status parse_tables(const toml::table& top, const std::string& key, const std::string& origin,
                    Parse parse, std::vector<T>& out) {
  const toml::node* node = top.get(key);
  if (!node) return {};
  const toml::array* tables = node->as_array();
  if (!tables) {
    return Error(EINVAL, origin + ": '" + key + "' must be an array of tables ([[" + key + "]])");
  }
  for (size_t i = 0; i < tables->size(); ++i) {
    std::string where = origin + ": " + key + " #" + std::to_string(i + 1);
    const toml::table* table = tables->get(i)->as_table();
    if (!table) return Error(EINVAL, where + " is not a table");
    RINGLANE_ASSIGN_OR_RETURN(T parsed, parse(*table, where));
    out.push_back(std::move(parsed));
  }
  return {};
}

// [dpdk]: no_huge = bool, file_prefix = "name", memory_mb = integer.
Status parse_dpdk_table(const toml::node* node, const std::string& where, DpdkSettings& out) {
  const toml::table* table = node->as_table();
  if (!table) return Error(EINVAL, where + " must be a table");
  for (auto&& [key, value] : *table) {
    std::string k(key.str());
    if (k == "no_huge") {
      RINGLANE_ASSIGN_OR_RETURN(out.no_huge, toml_bool(value, k, where));
    } else if (k == "file_prefix") {
      RINGLANE_ASSIGN_OR_RETURN(out.file_prefix, toml_string(value, k, where));
    } else if (k == "memory_mb") {
      auto v = value.is_integer() ? value.value<int64_t>() : std::nullopt;
      if (!v || *v < 64 || *v > 1 << 20) {
        return Error(EINVAL, where + ": 'memory_mb' must be an integer 64-1048576");
      }
      out.memory_mb = static_cast<unsigned>(*v);
    } else {
      return Error(EINVAL, where + ": unknown key '" + k + "'");
    }
  }
  return {};
}

}  // namespace

Result<uint64_t> feature_mask(const std::vector<std::string>& names) {
  using namespace virtio;
  // What each name of disable= withholds: a feature, or a group that only works together.
  struct Withheld {
    std::string_view name;
    uint64_t bits;
  };
  static constexpr Withheld kNames[] = {
      {"event_idx", bit(kFRingEventIdx)},
      {"indirect", bit(kFRingIndirectDesc)},
      {"in_order", bit(kFInOrder)},
      {"mrg_rxbuf", bit(kNetFMrgRxbuf)},
      {"mq", bit(kNetFMq)},
      {"csum", bit(kNetFCsum) | bit(kNetFHostTso4) | bit(kNetFHostTso6)},
      {"guest_csum", bit(kNetFGuestCsum) | bit(kNetFGuestTso4) | bit(kNetFGuestTso6)},
      {"tso", bit(kNetFHostTso4) | bit(kNetFHostTso6) | bit(kNetFGuestTso4) | bit(kNetFGuestTso6)},
      {"mtu", bit(kNetFMtu)},
      {"ring_packed", bit(kFRingPacked)},
      {"guest_announce", bit(kNetFGuestAnnounce)},
      {"log_all", bit(kVhostFLogAll)},
  };
  uint64_t mask = 0;
  for (const auto& n : names) {
    const auto* it = std::find_if(std::begin(kNames), std::end(kNames),
                                  [&](const Withheld& w) { return w.name == n; });
    if (it == std::end(kNames)) {
      std::string known;
      for (const Withheld& w : kNames) known += (known.empty() ? "" : ", ") + std::string(w.name);
      return Error(EINVAL, "unknown feature '" + n + "' (known: " + known + ")");
    }
    mask |= it->bits;
  }
  return mask;
}

const char* to_string(PortKind kind) {
  switch (kind) {
    case PortKind::vhost:
      return "vhost";
    case PortKind::afxdp:
      return "afxdp";
    case PortKind::dpdk:
      return "dpdk";
    case PortKind::tap:
      return "tap";
  }
  return "?";
}

Result<PortConfig> parse_port_options(const OptionList& options, std::string_view where) {
  PortConfig port;
  std::vector<std::string> keys;
  for (const auto& [key, value] : options) {
    keys.push_back(key);
    if (key == "name") {
      port.name = value;
    } else if (key == "kind") {
      RINGLANE_ASSIGN_OR_RETURN(port.kind, parse_kind(value, where));
    } else if (key == "path") {
      port.socket_path = value;
    } else if (key == "mode") {
      RINGLANE_ASSIGN_OR_RETURN(port.client_mode, parse_socket_mode(value, where));
    } else if (key == "queues") {
      RINGLANE_ASSIGN_OR_RETURN(port.queue_pairs, parse_queues(value, where));
    } else if (key == "disable") {
      port.disabled_features = split(value, '+');
    } else if (key == "type") {
      port.type = value;
    } else if (key == "ifname") {
      port.ifname = value;
    } else if (key == "xdp") {
      RINGLANE_ASSIGN_OR_RETURN(port.xdp, parse_xdp(value, where));
    } else if (key == "zerocopy") {
      RINGLANE_ASSIGN_OR_RETURN(port.zerocopy, parse_zerocopy(value, where));
    } else if (key == "devargs") {
      port.devargs = value;
    } else if (key == "vlan") {
      RINGLANE_ASSIGN_OR_RETURN(port.access_vlan, parse_vlan(value, where));
    } else if (key == "trunk") {
      RINGLANE_ASSIGN_OR_RETURN(port.trunk_vlans, parse_trunk(split(value, '+'), where));
    } else {
      // parse_options has refused these in a spec already; a list built from other input (the
      // daemon API's JSON) has not been through it.
      std::string list;
      for (std::string_view k : kPortKeys) {
        if (!list.empty()) list += ", ";
        list += k;
      }
      return Error(EINVAL,
                   std::string(where) + ": unknown key '" + key + "' (known: " + list + ")");
    }
  }
  RINGLANE_TRY(check_port(port, keys, where));
  return port;
}

Result<PortConfig> parse_port_spec(std::string_view spec) {
  std::string where = "--port '" + std::string(spec) + "'";
  Result<OptionList> options = parse_options(spec, kPortKeys);
  if (!options.ok()) return Error(EINVAL, where + ": " + options.error().message());
  return parse_port_options(*options, where);
}

namespace {

constexpr std::array<std::string_view, 8> kDiskKeys = {"name",     "path",   "file",   "mode",
                                                       "readonly", "queues", "direct", "discard"};

}  // namespace

Result<DiskConfig> parse_disk_options(const OptionList& options, std::string_view where) {
  DiskConfig disk;
  std::string at(where);
  for (const auto& [key, value] : options) {
    if (key == "name") {
      disk.name = value;
    } else if (key == "path") {
      disk.socket_path = value;
    } else if (key == "file") {
      disk.image_path = value;
    } else if (key == "mode") {
      RINGLANE_ASSIGN_OR_RETURN(disk.client_mode, parse_socket_mode(value, at));
    } else if (key == "readonly") {
      RINGLANE_ASSIGN_OR_RETURN(disk.readonly, parse_on_off(key, value, at));
    } else if (key == "queues") {
      RINGLANE_ASSIGN_OR_RETURN(disk.queues, parse_queues(value, at));
    } else if (key == "direct") {
      RINGLANE_ASSIGN_OR_RETURN(disk.direct, parse_on_off(key, value, at));
    } else if (key == "discard") {
      RINGLANE_ASSIGN_OR_RETURN(disk.discard, parse_on_off(key, value, at));
    } else {
      // A spec went through parse_options, which refused it already; the API's JSON did not.
      std::string list;
      for (std::string_view k : kDiskKeys) {
        if (!list.empty()) list += ", ";
        list += k;
      }
      return Error(EINVAL, at + ": unknown key '" + key + "' (known: " + list + ")");
    }
  }
  if (disk.name.empty()) return Error(EINVAL, at + ": missing name=");
  if (disk.socket_path.empty()) return Error(EINVAL, at + ": missing path=");
  if (disk.image_path.empty()) return Error(EINVAL, at + ": missing file=");
  return disk;
}

Result<DiskConfig> parse_disk_spec(std::string_view spec) {
  std::string where = "--disk '" + std::string(spec) + "'";
  Result<OptionList> options = parse_options(expand_bare_readonly(spec), kDiskKeys);
  if (!options.ok()) return Error(EINVAL, where + ": " + options.error().message());
  return parse_disk_options(*options, where);
}

Status validate_disk(const DiskConfig& d) {
  std::string disk = "disk '" + d.name + "'";
  if (d.name.empty()) return Error(EINVAL, "a disk has no name");
  if (d.socket_path.empty()) return Error(EINVAL, disk + ": no socket path");
  if (d.image_path.empty()) return Error(EINVAL, disk + ": no image file");
  if (d.queues < 1 || d.queues > kMaxDiskQueues) {
    return Error(EINVAL, bad_queues(disk, std::to_string(d.queues)));
  }
  return {};
}

Status apply_toml(std::string_view text, std::string_view origin, DaemonConfig& config) {
  // toml++ 3.3 reaches undefined behaviour on some non-ASCII input (tomlplusplus#190, #295), and
  // a ringlane config needs nothing beyond ASCII: refuse anything else before parsing.
  for (size_t i = 0, line = 1, column = 1; i < text.size(); ++i, ++column) {
    if (text[i] == '\n') {
      ++line;
      column = 0;
    } else if (static_cast<unsigned char>(text[i]) >= 0x80) {
      return Error(EINVAL, std::string(origin) + ":" + std::to_string(line) + ":" +
                               std::to_string(column) + ": only ASCII text is accepted");
    }
  }
  toml::parse_result parsed = toml::parse(text, origin);
  if (!parsed) {
    const auto& err = parsed.error();
    std::ostringstream msg;
    msg << origin << ":" << err.source().begin.line << ":" << err.source().begin.column << ": "
        << err.description();
    return Error(EINVAL, msg.str());
  }
  toml::table& t = parsed.table();
  std::string o(origin);
  static const std::set<std::string> known = {"cores",
                                              "control_cores",
                                              "mode",
                                              "stats_interval",
                                              "duration",
                                              "mac_aging",
                                              "summary",
                                              "log_level",
                                              "port",
                                              "disk",
                                              "xconnect",
                                              "idle_sleep_us",
                                              "dpdk",
                                              "idle",
                                              "api_sock",
                                              "api_sock_mode",
                                              "api_sock_owner",
                                              "metrics",
                                              "rebalance_interval"};
  for (auto&& [key, value] : t) {
    if (!known.count(std::string(key.str()))) {
      return Error(EINVAL, o + ": unknown key '" + std::string(key.str()) + "'");
    }
  }
  auto get_string = [&](const char* key, std::string& out) -> Status {
    if (auto* node = t.get(key)) {
      if (!node->is_string()) return Error(EINVAL, o + ": '" + key + "' must be a string");
      out = node->as_string()->get();
    }
    return {};
  };
  auto get_number = [&](const char* key, double& out) -> Status {
    if (auto* node = t.get(key)) {
      if (auto v = node->value<double>()) {
        if (*v < 0) return Error(EINVAL, o + ": '" + key + "' must not be negative");
        out = *v;
      } else {
        return Error(EINVAL, o + ": '" + key + "' must be a number");
      }
    }
    return {};
  };
  // A core list may be written as a number when it is a single core.
  auto get_cores = [&](const char* key, std::string& out) -> Status {
    if (auto* node = t.get(key); node && node->is_integer()) {
      out = std::to_string(node->as_integer()->get());
      return {};
    }
    return get_string(key, out);
  };
  RINGLANE_TRY(get_cores("cores", config.cores));
  RINGLANE_TRY(get_cores("control_cores", config.control_cores));
  RINGLANE_TRY(get_string("mode", config.mode));
  RINGLANE_TRY(get_string("summary", config.summary_path));
  RINGLANE_TRY(get_string("log_level", config.log_level));
  RINGLANE_TRY(get_number("stats_interval", config.stats_interval));
  RINGLANE_TRY(get_number("duration", config.duration));
  RINGLANE_TRY(get_number("mac_aging", config.mac_aging));
  RINGLANE_TRY(get_number("idle_sleep_us", config.idle_sleep_us));
  if (t.contains("idle") && t.contains("idle_sleep_us")) {
    return Error(EINVAL,
                 o + ": 'idle' and 'idle_sleep_us' (its older spelling) exclude each other");
  }
  std::string idle;
  RINGLANE_TRY(get_string("idle", idle));
  if (!idle.empty()) {
    auto policy = parse_idle_policy(idle);
    if (!policy) return Error(EINVAL, o + ": 'idle': " + policy.error().message());
    config.idle_sleep_us = policy->sleep_after_us;
  }
  RINGLANE_TRY(get_string("api_sock", config.api_sock));
  RINGLANE_TRY(get_string("api_sock_mode", config.api_sock_mode));
  RINGLANE_TRY(get_string("api_sock_owner", config.api_sock_owner));
  RINGLANE_TRY(get_string("metrics", config.metrics));
  RINGLANE_TRY(get_number("rebalance_interval", config.rebalance_interval));
  RINGLANE_TRY(parse_tables(t, "port", o, parse_port_table, config.ports));
  if (auto* node = t.get("dpdk")) {
    RINGLANE_TRY(parse_dpdk_table(node, o + ": [dpdk]", config.dpdk));
  }
  RINGLANE_TRY(parse_tables(t, "disk", o, parse_disk_table, config.disks));
  if (auto* node = t.get("xconnect")) {
    auto* pairs = node->as_array();
    if (!pairs) return Error(EINVAL, o + ": 'xconnect' must be an array of [\"a\", \"b\"] pairs");
    for (auto&& pair : *pairs) {
      auto* arr = pair.as_array();
      if (!arr || arr->size() != 2 || !arr->get(0)->is_string() || !arr->get(1)->is_string()) {
        return Error(EINVAL, o + ": each 'xconnect' entry must be [\"port-a\", \"port-b\"]");
      }
      config.cross_connects.emplace_back(arr->get(0)->as_string()->get(),
                                         arr->get(1)->as_string()->get());
    }
  }
  return {};
}

Status validate_port(const PortConfig& port) {
  std::string where = "port '" + port.name + "'";
  if (port.type != "vhost-user-net") {
    return Error(EINVAL,
                 where + ": unsupported type '" + port.type + "' (supported: vhost-user-net)");
  }
  // Ports built in code skip the parsers' checks; the same rules hold for them.
  RINGLANE_TRY(check_port(port, {}, where));
  if (port.access_vlan > kMaxVlan ||
      std::any_of(port.trunk_vlans.begin(), port.trunk_vlans.end(),
                  [](uint16_t v) { return v < 1 || v > kMaxVlan; })) {
    return Error(EINVAL, where + ": a VLAN id must be 1-" + std::to_string(kMaxVlan));
  }
  auto mask = feature_mask(port.disabled_features);
  if (!mask) return Error(EINVAL, where + ": " + mask.error().message());
  return {};
}

Status validate(const DaemonConfig& config) {
  if (config.mode != "xconnect" && config.mode != "l2") {
    return Error(EINVAL, "mode must be 'xconnect' or 'l2', got '" + config.mode + "'");
  }
  // "nan" and "inf" parse as numbers; none of these means anything as a time.
  if (!std::isfinite(config.stats_interval) || config.stats_interval < 0) {
    return Error(EINVAL,
                 "the statistics interval (--stats-interval, stats_interval) must be a finite "
                 "number of seconds, 0 or more");
  }
  if (!std::isfinite(config.duration) || config.duration < 0) {
    return Error(
        EINVAL,
        "the duration (--duration, duration) must be a finite number of seconds, 0 or more");
  }
  if (!std::isfinite(config.mac_aging) || config.mac_aging <= 0) {
    return Error(EINVAL,
                 "the MAC aging time (--mac-aging, mac_aging) must be a finite number of seconds, "
                 "more than 0");
  }
  if (!std::isfinite(config.idle_sleep_us) || config.idle_sleep_us < 0 ||
      config.idle_sleep_us > 1e6) {
    return Error(EINVAL,
                 "the idle time before a disk worker sleeps (--idle-sleep-us, idle_sleep_us) must "
                 "be a finite number of microseconds, 0-1000000");
  }
  if (config.ports.size() > kMaxPorts) {
    return Error(EINVAL, std::to_string(config.ports.size()) + " ports configured; at most " +
                             std::to_string(kMaxPorts) + " are supported");
  }
  // Socket path -> its user, for an error that names both.
  std::map<std::string, std::string> paths;
  auto claim_path = [&](const std::string& path, const std::string& user) -> Status {
    auto [it, added] = paths.emplace(path, user);
    if (!added) {
      return Error(EINVAL, "socket path '" + path + "' is used by " + it->second + " and " + user);
    }
    return {};
  };
  std::map<std::string, std::string> interfaces;  // ifname -> its port
  std::set<std::string> names;
  for (const auto& p : config.ports) {
    if (!names.insert(p.name).second) return Error(EINVAL, "duplicate port name '" + p.name + "'");
    RINGLANE_TRY(validate_port(p));
    if ((p.access_vlan != 0 || !p.trunk_vlans.empty()) && config.mode != "l2") {
      return Error(EINVAL, "port '" + p.name + "': VLANs need the L2 switch (--mode l2)");
    }
    if (p.kind == PortKind::vhost) {
      RINGLANE_TRY(claim_path(p.socket_path, "port '" + p.name + "'"));
    } else if (!p.ifname.empty()) {
      // Two ports on one interface would fight over its queues (and its XDP program).
      auto [it, added] = interfaces.emplace(p.ifname, p.name);
      if (!added) {
        return Error(EINVAL, "interface '" + p.ifname + "' is used by port '" + it->second +
                                 "' and port '" + p.name + "'");
      }
    }
  }
  bool has_dpdk = std::any_of(config.ports.begin(), config.ports.end(),
                              [](const PortConfig& p) { return p.kind == PortKind::dpdk; });
  const std::string& prefix = config.dpdk.file_prefix;
  if (has_dpdk && (prefix.empty() || prefix.find('/') != std::string::npos)) {
    return Error(EINVAL,
                 "the DPDK file prefix (--dpdk-file-prefix, [dpdk] file_prefix) must be a "
                 "name without '/', got '" +
                     prefix + "'");
  }
  if (has_dpdk && (config.dpdk.memory_mb < 64 || config.dpdk.memory_mb > (1u << 20))) {
    return Error(EINVAL, "DPDK's memory (--dpdk-memory, [dpdk] memory_mb) must be 64-1048576 MiB");
  }
  std::set<std::string> disk_names;
  for (const auto& d : config.disks) {
    std::string disk = "disk '" + d.name + "'";
    RINGLANE_TRY(validate_disk(d));
    if (names.count(d.name)) {
      return Error(EINVAL, disk +
                               ": a port has that name too; ports and disks share one namespace "
                               "(the statistics and ringlane-ctl name either)");
    }
    if (!disk_names.insert(d.name).second)
      return Error(EINVAL, "duplicate disk name '" + d.name + "'");
    RINGLANE_TRY(claim_path(d.socket_path, disk));
  }
  std::set<std::string> connected;
  for (const auto& [a, b] : config.cross_connects) {
    // Before the per-end checks, which would report a self-connection as a duplicate.
    if (a == b) return Error(EINVAL, "cannot cross-connect port '" + a + "' to itself");
    for (const auto& end : {a, b}) {
      if (disk_names.count(end)) {
        return Error(EINVAL, "cross-connect names disk '" + end + "'; only ports forward frames");
      }
      if (!names.count(end)) return Error(EINVAL, "cross-connect names unknown port '" + end + "'");
      if (!connected.insert(end).second) {
        return Error(EINVAL, "port '" + end + "' is in more than one cross-connect");
      }
    }
  }
  return {};
}

}  // namespace ringlane::control
