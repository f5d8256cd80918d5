#include "ringlane/control/daemon_api.h"

#include <array>
#include <charconv>
#include <climits>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>
#include <vector>

#include "ringlane/base/option_parser.h"
#include "ringlane/control/metrics_text.h"

namespace ringlane::control {

namespace {

using Json = nlohmann::json;

// Names and messages may hold any bytes (a port named on the command line, a path echoed in an
// error); dump() would throw on invalid UTF-8, so it is replaced instead.
std::string to_text(const Json& json) {
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

ApiReply json_reply(int status, const Json& json) {
  return ApiReply{status, to_text(json)};
}

ApiReply error_reply(int status, std::string_view message) {
  return json_reply(status, Json{{"error", std::string(message)}});
}

int status_of(int code) {
  switch (code) {
    case EINVAL:
      return 400;
    case ENOENT:
      return 404;
    case EEXIST:
    case EADDRINUSE:
    case EBUSY:
      return 409;
    default:
      return 500;
  }
}

ApiReply error_reply(const Error& error) {
  return error_reply(status_of(error.code()), error.message());
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX escapes decoded; a '%' not followed by two hex digits is an error. '+' stays '+': it
// means a space only in HTML forms, which nothing sends here.
std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    int high = hex_digit(text[i + 1]);
    int low = hex_digit(text[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

// Only what separates a body from no body: "  \r\n" is no body.
bool blank(std::string_view body) {
  return body.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

std::string format_mac(uint64_t mac) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int shift = 40; shift >= 0; shift -= 8) {
    auto octet = static_cast<unsigned>((mac >> shift) & 0xff);
    if (!out.empty()) out += ':';
    out += kHex[octet >> 4];
    out += kHex[octet & 0xf];
  }
  return out;
}

double cycles_per_packet(uint64_t cycles, uint64_t packets) {
  return packets == 0 ? 0.0 : static_cast<double>(cycles) / static_cast<double>(packets);
}

uint64_t drops_of(const QueueView& q) {
  return q.drop_no_buffers + q.drop_too_large + q.drop_queue_down + q.drop_malformed + q.drop_chain;
}

Json queue_json(const QueueView& q) {
  return Json{{"queue_pair", q.queue_pair},
              {"worker", q.worker},
              {"rx_live", q.rx_live},
              {"tx_live", q.tx_live},
              {"rx_packets", q.rx_packets},
              {"rx_bytes", q.rx_bytes},
              {"tx_packets", q.tx_packets},
              {"tx_bytes", q.tx_bytes},
              {"drops",
               {{"no_buffers", q.drop_no_buffers},
                {"too_large", q.drop_too_large},
                {"queue_down", q.drop_queue_down},
                {"malformed", q.drop_malformed},
                {"chain", q.drop_chain}}},
              {"ring_errors", q.ring_errors},
              {"kicks", q.kicks},
              {"calls", q.calls},
              {"rx_occupancy", q.rx_occupancy},
              {"tx_occupancy", q.tx_occupancy},
              {"busy_cycles", q.busy_cycles},
              {"polled_packets", q.polled_packets},
              {"cycles_per_packet", cycles_per_packet(q.busy_cycles, q.polled_packets)},
              {"max_gap_us", q.max_gap_us}};
}

// What a port is, without its queues: the start of both the summary and the full view.
Json port_head(const PortView& p) {
  return Json{{"name", p.name},           {"kind", p.kind},
              {"connected", p.connected}, {"queue_pairs", p.queue_pairs},
              {"vlans", p.vlans},         {"peer", p.peer}};
}

Json port_summary(const PortView& p) {
  Json json = port_head(p);
  uint64_t rx_packets = 0, rx_bytes = 0, tx_packets = 0, tx_bytes = 0, drops = 0;
  for (const QueueView& q : p.queues) {
    rx_packets += q.rx_packets;
    rx_bytes += q.rx_bytes;
    tx_packets += q.tx_packets;
    tx_bytes += q.tx_bytes;
    drops += drops_of(q);
  }
  json["rx_packets"] = rx_packets;
  json["rx_bytes"] = rx_bytes;
  json["tx_packets"] = tx_packets;
  json["tx_bytes"] = tx_bytes;
  json["drops"] = drops;
  return json;
}

Json port_full(const PortView& p) {
  Json json = port_head(p);
  json["features"] = p.features;
  Json queues = Json::array();
  for (const QueueView& q : p.queues) queues.push_back(queue_json(q));
  json["queues"] = std::move(queues);
  Json counters = Json::object();
  for (const auto& [name, value] : p.counters) counters[name] = value;
  json["counters"] = std::move(counters);
  return json;
}

Json disk_summary(const DiskView& d) {
  uint64_t requests = 0, bytes_read = 0, bytes_written = 0, errors = 0;
  for (const DiskQueueView& q : d.queues) {
    requests += q.requests();
    bytes_read += q.bytes_read;
    bytes_written += q.bytes_written;
    errors += q.errors;
  }
  return Json{
      {"name", d.name},         {"socket", d.socket},       {"image", d.image},
      {"mode", d.mode},         {"connected", d.connected}, {"queues", d.queues.size()},
      {"readonly", d.readonly}, {"direct", d.direct},       {"size_bytes", d.size_bytes},
      {"requests", requests},   {"bytes_read", bytes_read}, {"bytes_written", bytes_written},
      {"errors", errors}};
}

Json disk_full(const DiskView& d) {
  Json json = disk_summary(d);
  json["writeback"] = d.writeback;
  json["features"] = d.features;
  Json queues = Json::array();
  for (const DiskQueueView& q : d.queues) {
    queues.push_back({{"queue", q.queue},
                      {"worker", q.worker},
                      {"live", q.live},
                      {"in_flight", q.in_flight},
                      {"requests", q.requests()},
                      {"completed", q.completed},
                      {"reads", q.reads},
                      {"writes", q.writes},
                      {"flushes", q.flushes},
                      {"discards", q.discards},
                      {"write_zeroes", q.write_zeroes},
                      {"bytes_read", q.bytes_read},
                      {"bytes_written", q.bytes_written},
                      {"errors", q.errors},
                      {"ring_errors", q.ring_errors}});
  }
  json["queue_stats"] = std::move(queues);
  return json;
}

Json worker_json(const WorkerView& w) {
  Json queues = Json::array();
  for (const WorkerQueue& q : w.queues) {
    queues.push_back({{"port", q.port},
                      {"queue_pair", q.queue_pair},
                      {"busy_cycles", q.busy_cycles},
                      {"packets", q.packets}});
  }
  return Json{{"index", w.index},
              {"core", w.core},
              {"packets", w.packets},
              {"bursts", w.bursts},
              {"idle_polls", w.idle_polls},
              {"loops", w.loops},
              {"busy_cycles", w.busy_cycles},
              {"sleeps", w.sleeps},
              {"busy_share", w.busy_share},
              {"cycles_per_packet", w.cycles_per_packet},
              {"idle_share", w.idle_share},
              {"queues", std::move(queues)}};
}

// The body as a JSON object, or the 400 that refuses it. Never throws: the parser is asked not
// to, and the caller checks each member's type before reading it.
Result<Json> parse_object(std::string_view body) {
  Json json = Json::parse(body, nullptr, false);
  if (json.is_discarded()) return Error(EINVAL, "the body is not valid JSON");
  if (!json.is_object()) return Error(EINVAL, "the body must be a JSON object");
  return json;
}

// A JSON member as the --port spec would spell its value.
Result<std::string> option_value(const std::string& key, const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_unsigned()) return std::to_string(value.get<uint64_t>());
  if (value.is_number_integer()) return std::to_string(value.get<int64_t>());
  if (value.is_boolean()) return std::string(value.get<bool>() ? "on" : "off");
  return Error(EINVAL, "'" + key + "' must be a string, an integer or true/false");
}

enum class Route {
  unknown,
  status,
  ports,
  port,
  queue,
  disks,
  disk,
  workers,
  rebalance,
  reset_gaps,
  fdb,
  metrics
};

struct Match {
  Route route = Route::unknown;
  std::string name;     // the port of /ports/NAME and /ports/NAME/queues/QP
  std::string segment;  // QP, as sent
};

// The route of a path split at '/', its segments percent-decoded.
Result<Match> match(std::string_view path) {
  if (path.empty() || path[0] != '/') return Match{};
  std::vector<std::string> parts;
  size_t at = 1;
  while (true) {
    size_t slash = path.find('/', at);
    std::string_view raw =
        path.substr(at, slash == std::string_view::npos ? std::string_view::npos : slash - at);
    std::optional<std::string> part = percent_decode(raw);
    if (!part) return Error(EINVAL, "bad percent-encoding in the path");
    parts.push_back(std::move(*part));
    if (slash == std::string_view::npos) break;
    at = slash + 1;
  }
  auto is = [&](size_t i, std::string_view text) { return parts[i] == text; };
  // "" is no name: /ports/ and /ports//queues/0 are not routes.
  for (const std::string& part : parts) {
    if (part.empty()) return Match{};
  }
  if (parts.size() == 1) {
    if (is(0, "status")) return Match{Route::status, {}, {}};
    if (is(0, "ports")) return Match{Route::ports, {}, {}};
    if (is(0, "disks")) return Match{Route::disks, {}, {}};
    if (is(0, "workers")) return Match{Route::workers, {}, {}};
    if (is(0, "fdb")) return Match{Route::fdb, {}, {}};
    if (is(0, "metrics")) return Match{Route::metrics, {}, {}};
  } else if (parts.size() == 2) {
    if (is(0, "ports")) return Match{Route::port, parts[1], {}};
    if (is(0, "disks")) return Match{Route::disk, parts[1], {}};
    if (is(0, "workers") && is(1, "rebalance")) {
      return Match{Route::rebalance, {}, {}};
    }
    if (is(0, "workers") && is(1, "reset-gaps")) return Match{Route::reset_gaps, {}, {}};
  } else if (parts.size() == 4 && is(0, "ports") && is(2, "queues")) {
    return Match{Route::queue, parts[1], parts[3]};
  }
  return Match{};
}

// The methods each route takes, for the 405's message.
const char* allowed_methods(Route route) {
  switch (route) {
    case Route::status:
    case Route::workers:
    case Route::metrics:
      return "GET";
    case Route::ports:
    case Route::disks:
      return "GET, POST";
    case Route::port:
    case Route::disk:
    case Route::fdb:
      return "GET, DELETE";
    case Route::queue:
      return "PUT";
    case Route::rebalance:
    case Route::reset_gaps:
      return "POST";
    case Route::unknown:
      break;
  }
  return "";
}

bool allows(Route route, std::string_view method) {
  std::string_view allowed = allowed_methods(route);
  size_t at = 0;
  while (at < allowed.size()) {
    size_t comma = allowed.find(", ", at);
    std::string_view one =
        allowed.substr(at, comma == std::string_view::npos ? allowed.npos : comma - at);
    if (one == method) return true;
    if (comma == std::string_view::npos) break;
    at = comma + 2;
  }
  return false;
}

// DELETE /fdb's query: nothing, or port=NAME.
Result<std::string> fdb_port(std::string_view query) {
  if (query.empty()) return std::string();
  constexpr std::string_view kKey = "port=";
  if (query.substr(0, kKey.size()) != kKey || query.find('&') != std::string_view::npos) {
    return Error(EINVAL, "the only query DELETE /fdb takes is port=NAME");
  }
  std::optional<std::string> name = percent_decode(query.substr(kKey.size()));
  if (!name) return Error(EINVAL, "bad percent-encoding in the query");
  if (name->empty()) return Error(EINVAL, "port= needs a port's name");
  return *name;
}

Result<uint16_t> parse_queue_pair(std::string_view text) {
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value > UINT16_MAX) {
    return Error(EINVAL, "a queue pair is a number 0-65535, got '" + std::string(text) + "'");
  }
  return static_cast<uint16_t>(value);
}

// A JSON object's members as the options of a spec.
Result<std::vector<Option>> options_of(const Json& json) {
  std::vector<Option> options;
  for (const auto& [key, value] : json.items()) {
    RINGLANE_ASSIGN_OR_RETURN(std::string text, option_value(key, value));
    options.push_back({key, std::move(text)});
  }
  return options;
}

// POST /ports' body as a port's configuration and the peer to cross-connect it with.
Result<std::pair<PortConfig, std::string>> port_request(std::string_view body) {
  RINGLANE_ASSIGN_OR_RETURN(Json json, parse_object(body));
  std::string peer;
  if (auto at = json.find("peer"); at != json.end()) {
    if (!at->is_string()) return Error(EINVAL, "'peer' must be a port's name (a string)");
    peer = at->get<std::string>();
    json.erase(at);
  }
  RINGLANE_ASSIGN_OR_RETURN(std::vector<Option> options, options_of(json));
  RINGLANE_ASSIGN_OR_RETURN(PortConfig config,
                            parse_port_options(OptionList(std::move(options)), "POST /ports"));
  RINGLANE_TRY(validate_port(config));
  return std::pair<PortConfig, std::string>(std::move(config), std::move(peer));
}

// POST /disks' body as a disk's configuration.
Result<DiskConfig> disk_request(std::string_view body) {
  RINGLANE_ASSIGN_OR_RETURN(Json json, parse_object(body));
  RINGLANE_ASSIGN_OR_RETURN(std::vector<Option> options, options_of(json));
  RINGLANE_ASSIGN_OR_RETURN(DiskConfig config,
                            parse_disk_options(OptionList(std::move(options)), "POST /disks"));
  RINGLANE_TRY(validate_disk(config));
  return config;
}

// PUT /ports/NAME/queues/QP's body: {"worker": N}.
Result<unsigned> worker_request(std::string_view body) {
  RINGLANE_ASSIGN_OR_RETURN(Json json, parse_object(body));
  std::optional<unsigned> worker;
  for (const auto& [key, value] : json.items()) {
    if (key != "worker") return Error(EINVAL, "unknown key '" + key + "' (known: worker)");
    if (!value.is_number_unsigned() || value.get<uint64_t>() > UINT_MAX) {
      return Error(EINVAL, "'worker' must be a worker's index (an integer, 0 or more)");
    }
    worker = static_cast<unsigned>(value.get<uint64_t>());
  }
  if (!worker) return Error(EINVAL, "missing 'worker'");
  return *worker;
}

// POST /workers/rebalance takes no body or an empty object.
Status empty_object(std::string_view body) {
  if (blank(body)) return {};
  RINGLANE_ASSIGN_OR_RETURN(Json json, parse_object(body));
  if (!json.empty()) return Error(EINVAL, "unknown key '" + json.begin().key() + "'");
  return {};
}

}  // namespace

ApiReply DaemonApi::handle(std::string_view method, std::string_view target,
                           std::string_view body) {
  ++requests_;
  ApiReply reply = route(method, target, body);
  if (reply.status >= 400) ++bad_requests_;
  return reply;
}

ApiReply DaemonApi::refuse(int status, std::string_view message) {
  ++requests_;
  ++bad_requests_;
  return error_reply(status, message);
}

ApiReply DaemonApi::route(std::string_view method, std::string_view target, std::string_view body) {
  size_t question = target.find('?');
  std::string_view path = target.substr(0, question);
  std::string_view query =
      question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
  Result<Match> matched = match(path);
  if (!matched.ok()) return error_reply(matched.error());
  const Match& m = *matched;
  if (m.route == Route::unknown) return error_reply(404, "no such endpoint: " + std::string(path));
  if (!allows(m.route, method)) {
    return error_reply(405, "method " + std::string(method) + " is not allowed on " +
                                std::string(path) + " (allowed: " + allowed_methods(m.route) + ")");
  }
  bool fdb_flush = m.route == Route::fdb && method == "DELETE";
  if (!query.empty() && !fdb_flush) {
    return error_reply(400, std::string(method) + " " + std::string(path) + " takes no query");
  }
  bool takes_body = ((m.route == Route::ports || m.route == Route::disks) && method == "POST") ||
                    m.route == Route::queue || m.route == Route::rebalance ||
                    m.route == Route::reset_gaps;
  if (!takes_body && !blank(body)) {
    return error_reply(400, std::string(method) + " " + std::string(path) + " takes no body");
  }

  switch (m.route) {
    case Route::status: {
      DaemonInfo info = target_.info();
      return json_reply(200, Json{{"version", info.version},
                                  {"mode", info.mode},
                                  {"idle", info.idle},
                                  {"uptime_seconds", info.uptime_seconds},
                                  {"start_time_seconds", info.start_time_seconds},
                                  {"tsc_hz", info.tsc_hz},
                                  {"ports", target_.ports().size()},
                                  {"disks", target_.disks().size()},
                                  {"workers", target_.workers().size()},
                                  {"api_requests", requests_},
                                  {"api_errors", bad_requests_}});
    }
    case Route::ports: {
      if (method == "GET") {
        Json ports = Json::array();
        for (const PortView& p : target_.ports()) ports.push_back(port_summary(p));
        return json_reply(200, Json{{"ports", std::move(ports)}});
      }
      auto request = port_request(body);
      if (!request.ok()) return error_reply(request.error());
      const auto& [config, peer] = *request;
      if (Status added = target_.add_port(config, peer); !added.ok()) {
        return error_reply(added.error());
      }
      // The target has it now; should it not show it, the name still says what was added.
      std::optional<PortView> view = target_.port(config.name);
      return json_reply(201, view ? port_full(*view) : Json{{"name", config.name}});
    }
    case Route::port: {
      if (method == "GET") {
        std::optional<PortView> view = target_.port(m.name);
        if (!view) return error_reply(404, "no port named '" + m.name + "'");
        return json_reply(200, port_full(*view));
      }
      if (Status removed = target_.remove_port(m.name); !removed.ok()) {
        return error_reply(removed.error());
      }
      return json_reply(200, Json{{"removed", m.name}});
    }
    case Route::queue: {
      auto queue_pair = parse_queue_pair(m.segment);
      if (!queue_pair.ok()) return error_reply(queue_pair.error());
      auto worker = worker_request(body);
      if (!worker.ok()) return error_reply(worker.error());
      if (Status moved = target_.move_queue(m.name, *queue_pair, *worker); !moved.ok()) {
        return error_reply(moved.error());
      }
      return json_reply(200,
                        Json{{"port", m.name}, {"queue_pair", *queue_pair}, {"worker", *worker}});
    }
    case Route::disks: {
      if (method == "GET") {
        Json disks = Json::array();
        for (const DiskView& d : target_.disks()) disks.push_back(disk_summary(d));
        return json_reply(200, Json{{"disks", std::move(disks)}});
      }
      auto config = disk_request(body);
      if (!config.ok()) return error_reply(config.error());
      if (Status added = target_.add_disk(*config); !added.ok()) return error_reply(added.error());
      std::optional<DiskView> view = target_.disk(config->name);
      return json_reply(201, view ? disk_full(*view) : Json{{"name", config->name}});
    }
    case Route::disk: {
      if (method == "GET") {
        std::optional<DiskView> view = target_.disk(m.name);
        if (!view) return error_reply(404, "no disk named '" + m.name + "'");
        return json_reply(200, disk_full(*view));
      }
      if (Status removed = target_.remove_disk(m.name); !removed.ok()) {
        return error_reply(removed.error());
      }
      return json_reply(200, Json{{"removed", m.name}});
    }
    case Route::workers: {
      Json workers = Json::array();
      for (const WorkerView& w : target_.workers()) workers.push_back(worker_json(w));
      return json_reply(200, Json{{"workers", std::move(workers)}});
    }
    case Route::rebalance: {
      if (Status empty = empty_object(body); !empty.ok()) return error_reply(empty.error());
      Result<unsigned> moved = target_.rebalance();
      if (!moved.ok()) return error_reply(moved.error());
      return json_reply(200, Json{{"moved", *moved}});
    }
    case Route::reset_gaps: {
      if (Status empty = empty_object(body); !empty.ok()) return error_reply(empty.error());
      target_.reset_gaps();
      return json_reply(200, Json{{"reset", true}});
    }
    case Route::fdb: {
      if (method == "GET") {
        Json entries = Json::array();
        for (const FdbEntry& e : target_.fdb()) {
          entries.push_back({{"mac", format_mac(e.mac)},
                             {"vlan", e.vlan},
                             {"port", e.port},
                             {"age_seconds", e.age_seconds}});
        }
        return json_reply(200, Json{{"entries", std::move(entries)}});
      }
      auto port = fdb_port(query);
      if (!port.ok()) return error_reply(port.error());
      Result<size_t> flushed = target_.flush_fdb(*port);
      if (!flushed.ok()) return error_reply(flushed.error());
      return json_reply(200, Json{{"flushed", *flushed}});
    }
    case Route::metrics: {
      // requests_ counts this request already, bad_requests_ cannot yet: it is answered 200.
      return ApiReply{
          200,
          metrics_text(target_.info(), target_.ports(), target_.disks(), target_.workers(),
                       target_.fdb().size(), requests_, bad_requests_),
          kMetricsContentType};
    }
    case Route::unknown:
      break;
  }
  return error_reply(500, "unhandled route");
}

}  // namespace ringlane::control
