#include "ringlane/control/daemon_config.h"

#define TOML_EXCEPTIONS 0  // parse errors come back as values, not exceptions
#define TOML_HEADER_ONLY 1
// toml++ 3.3 asserts on some malformed table headers ("[\x1b]", "[[[") before reporting them
// as parse errors (upstream tomlplusplus#301); a bad config file must give an error, not abort.
#define TOML_ASSERT(expr) static_assert(true)
#include <toml++/toml.h>

#include <array>
#include <charconv>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "ringlane/base/option_parser.h"
#include "ringlane/virtio/spec.h"

namespace ringlane::control {

namespace {

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

Result<PortConfig> parse_port_table(const toml::table& table, const std::string& where) {
  PortConfig port;
  for (auto&& [key, value] : table) {
    std::string k(key.str());
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
      auto* arr = value.as_array();
      if (!arr) return Error(EINVAL, where + ": 'disable' must be an array of strings");
      for (auto&& f : *arr) {
        if (!f.is_string()) return Error(EINVAL, where + ": 'disable' must be an array of strings");
        port.disabled_features.push_back(f.as_string()->get());
      }
    } else {
      return Error(EINVAL, where + ": unknown key '" + k + "'");
    }
  }
  if (port.name.empty() || port.socket_path.empty()) {
    return Error(EINVAL, where + ": 'name' and 'path' are required");
  }
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

}  // namespace

Result<uint64_t> feature_mask(const std::vector<std::string>& names) {
  using namespace virtio;
  uint64_t mask = 0;
  for (const auto& n : names) {
    if (n == "event_idx")
      mask |= bit(kFRingEventIdx);
    else if (n == "indirect")
      mask |= bit(kFRingIndirectDesc);
    else if (n == "in_order")
      mask |= bit(kFInOrder);
    else if (n == "mrg_rxbuf")
      mask |= bit(kNetFMrgRxbuf);
    else if (n == "mq")
      mask |= bit(kNetFMq);
    else if (n == "csum")
      mask |= bit(kNetFCsum) | bit(kNetFHostTso4) | bit(kNetFHostTso6);
    else if (n == "guest_csum")
      mask |= bit(kNetFGuestCsum) | bit(kNetFGuestTso4) | bit(kNetFGuestTso6);
    else if (n == "tso")
      mask |= bit(kNetFHostTso4) | bit(kNetFHostTso6) | bit(kNetFGuestTso4) | bit(kNetFGuestTso6);
    else if (n == "mtu")
      mask |= bit(kNetFMtu);
    else {
      return Error(EINVAL, "unknown feature '" + n +
                               "' (known: event_idx, indirect, in_order, mrg_rxbuf, mq, csum, "
                               "guest_csum, tso, mtu)");
    }
  }
  return mask;
}

Result<PortConfig> parse_port_spec(std::string_view spec) {
  static constexpr std::array<std::string_view, 6> kKeys = {"name",   "path",    "mode",
                                                            "queues", "disable", "type"};
  std::string where = "--port '" + std::string(spec) + "'";
  Result<OptionList> options = parse_options(spec, kKeys);
  if (!options.ok()) return Error(EINVAL, where + ": " + options.error().message());
  PortConfig port;
  for (const auto& [key, value] : *options) {
    if (key == "name") {
      port.name = value;
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
    }
  }
  if (port.name.empty()) return Error(EINVAL, where + ": missing name=");
  if (port.socket_path.empty()) return Error(EINVAL, where + ": missing path=");
  return port;
}

Result<DiskConfig> parse_disk_spec(std::string_view spec) {
  static constexpr std::array<std::string_view, 8> kKeys = {
      "name", "path", "file", "mode", "readonly", "queues", "direct", "discard"};
  std::string where = "--disk '" + std::string(spec) + "'";
  Result<OptionList> options = parse_options(expand_bare_readonly(spec), kKeys);
  if (!options.ok()) return Error(EINVAL, where + ": " + options.error().message());
  DiskConfig disk;
  for (const auto& [key, value] : *options) {
    if (key == "name") {
      disk.name = value;
    } else if (key == "path") {
      disk.socket_path = value;
    } else if (key == "file") {
      disk.image_path = value;
    } else if (key == "mode") {
      RINGLANE_ASSIGN_OR_RETURN(disk.client_mode, parse_socket_mode(value, where));
    } else if (key == "readonly") {
      RINGLANE_ASSIGN_OR_RETURN(disk.readonly, parse_on_off(key, value, where));
    } else if (key == "queues") {
      RINGLANE_ASSIGN_OR_RETURN(disk.queues, parse_queues(value, where));
    } else if (key == "direct") {
      RINGLANE_ASSIGN_OR_RETURN(disk.direct, parse_on_off(key, value, where));
    } else if (key == "discard") {
      RINGLANE_ASSIGN_OR_RETURN(disk.discard, parse_on_off(key, value, where));
    }
  }
  if (disk.name.empty()) return Error(EINVAL, where + ": missing name=");
  if (disk.socket_path.empty()) return Error(EINVAL, where + ": missing path=");
  if (disk.image_path.empty()) return Error(EINVAL, where + ": missing file=");
  return disk;
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
  static const std::set<std::string> known = {
      "cores",   "control_cores", "mode", "stats_interval", "duration", "mac_aging",
      "summary", "log_level",     "port", "disk",           "xconnect", "idle_sleep_us"};
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
  RINGLANE_TRY(parse_tables(t, "port", o, parse_port_table, config.ports));
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
  std::set<std::string> names;
  for (const auto& p : config.ports) {
    if (p.type != "vhost-user-net") {
      return Error(EINVAL, "port '" + p.name + "': unsupported type '" + p.type +
                               "' (supported: vhost-user-net)");
    }
    if (!names.insert(p.name).second) return Error(EINVAL, "duplicate port name '" + p.name + "'");
    RINGLANE_TRY(claim_path(p.socket_path, "port '" + p.name + "'"));
    auto mask = feature_mask(p.disabled_features);
    if (!mask) return Error(EINVAL, "port '" + p.name + "': " + mask.error().message());
  }
  std::set<std::string> disk_names;
  for (const auto& d : config.disks) {
    std::string disk = "disk '" + d.name + "'";
    if (d.name.empty()) return Error(EINVAL, "a disk has no name");
    if (names.count(d.name)) {
      return Error(EINVAL, disk +
                               ": a port has that name too; ports and disks share one namespace "
                               "(the statistics and ringlane-ctl name either)");
    }
    if (!disk_names.insert(d.name).second)
      return Error(EINVAL, "duplicate disk name '" + d.name + "'");
    if (d.socket_path.empty()) return Error(EINVAL, disk + ": no socket path");
    RINGLANE_TRY(claim_path(d.socket_path, disk));
    if (d.image_path.empty()) return Error(EINVAL, disk + ": no image file");
    if (d.queues < 1 || d.queues > kMaxDiskQueues) {
      return Error(EINVAL, bad_queues(disk, std::to_string(d.queues)));
    }
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
