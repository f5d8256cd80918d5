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
#include <set>
#include <sstream>

#include "ringlane/base/option_parser.h"
#include "ringlane/virtio/spec.h"

namespace ringlane::control {

namespace {

Result<uint16_t> parse_queue_pairs(std::string_view text, std::string_view what) {
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value < 1 || value > 16) {
    return Error(EINVAL,
                 std::string(what) + ": queues must be 1-16, got '" + std::string(text) + "'");
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

Status set_socket_mode(PortConfig& port, std::string_view mode, std::string_view where) {
  if (mode == "server") {
    port.client_mode = false;
  } else if (mode == "client") {
    port.client_mode = true;
  } else {
    return Error(EINVAL, std::string(where) + ": socket mode must be 'server' or 'client', got '" +
                             std::string(mode) + "'");
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
      RINGLANE_TRY(set_socket_mode(port, value, where));
    } else if (key == "queues") {
      RINGLANE_ASSIGN_OR_RETURN(port.queue_pairs, parse_queue_pairs(value, where));
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
      "cores",     "control_cores", "mode",      "stats_interval", "duration",
      "mac_aging", "summary",       "log_level", "port",           "xconnect"};
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
  if (auto* node = t.get("port")) {
    auto* ports = node->as_array();
    if (!ports) return Error(EINVAL, o + ": 'port' must be an array of tables ([[port]])");
    for (size_t i = 0; i < ports->size(); ++i) {
      std::string where = o + ": port #" + std::to_string(i + 1);
      auto* pt = ports->get(i)->as_table();
      if (!pt) return Error(EINVAL, where + " is not a table");
      PortConfig port;
      for (auto&& [key, value] : *pt) {
        std::string k(key.str());
        if (k == "name" || k == "path" || k == "socket_mode" || k == "type") {
          if (!value.is_string()) return Error(EINVAL, where + ": '" + k + "' must be a string");
          std::string v = value.as_string()->get();
          if (k == "name")
            port.name = v;
          else if (k == "path")
            port.socket_path = v;
          else if (k == "type")
            port.type = v;
          else
            RINGLANE_TRY(set_socket_mode(port, v, where));
        } else if (k == "queues") {
          auto v = value.value<int64_t>();
          if (!v || *v < 1 || *v > 16)
            return Error(EINVAL, where + ": 'queues' must be an integer 1-16");
          port.queue_pairs = static_cast<uint16_t>(*v);
        } else if (k == "disable") {
          auto* arr = value.as_array();
          if (!arr) return Error(EINVAL, where + ": 'disable' must be an array of strings");
          for (auto&& f : *arr) {
            if (!f.is_string())
              return Error(EINVAL, where + ": 'disable' must be an array of strings");
            port.disabled_features.push_back(f.as_string()->get());
          }
        } else {
          return Error(EINVAL, where + ": unknown key '" + k + "'");
        }
      }
      if (port.name.empty() || port.socket_path.empty()) {
        return Error(EINVAL, where + ": 'name' and 'path' are required");
      }
      config.ports.push_back(port);
    }
  }
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
  if (config.ports.size() > kMaxPorts) {
    return Error(EINVAL, std::to_string(config.ports.size()) + " ports configured; at most " +
                             std::to_string(kMaxPorts) + " are supported");
  }
  std::set<std::string> names, paths;
  for (const auto& p : config.ports) {
    if (p.type != "vhost-user-net") {
      return Error(EINVAL, "port '" + p.name + "': unsupported type '" + p.type +
                               "' (supported: vhost-user-net)");
    }
    if (!names.insert(p.name).second) return Error(EINVAL, "duplicate port name '" + p.name + "'");
    if (!paths.insert(p.socket_path).second) {
      return Error(EINVAL, "socket path '" + p.socket_path + "' is used by two ports");
    }
    auto mask = feature_mask(p.disabled_features);
    if (!mask) return Error(EINVAL, "port '" + p.name + "': " + mask.error().message());
  }
  std::set<std::string> connected;
  for (const auto& [a, b] : config.cross_connects) {
    // Before the per-end checks, which would report a self-connection as a duplicate.
    if (a == b) return Error(EINVAL, "cannot cross-connect port '" + a + "' to itself");
    for (const auto& end : {a, b}) {
      if (!names.count(end)) return Error(EINVAL, "cross-connect names unknown port '" + end + "'");
      if (!connected.insert(end).second) {
        return Error(EINVAL, "port '" + end + "' is in more than one cross-connect");
      }
    }
  }
  return {};
}

}  // namespace ringlane::control
