#include "ringlane/ctl/top_rates.h"

#include <algorithm>
#include <optional>
#include <string>

#include "ringlane/ctl/text_table.h"

namespace ringlane::ctl {

namespace {

using nlohmann::json;

std::optional<uint64_t> counter(const json& object, const char* key) {
  const json& value = json_member(object, key);
  if (!value.is_number_unsigned()) return std::nullopt;
  return value.get<uint64_t>();
}

// How much a counter grew, or nothing when either sample lacks it or it went back.
std::optional<uint64_t> growth(const json& before, const json& after, const char* key) {
  std::optional<uint64_t> a = counter(before, key);
  std::optional<uint64_t> b = counter(after, key);
  if (!a || !b || *b < *a) return std::nullopt;
  return *b - *a;
}

json per_second(const json& before, const json& after, const char* key, double seconds) {
  std::optional<uint64_t> grew = growth(before, after, key);
  if (!grew || seconds <= 0) return nullptr;
  return static_cast<double>(*grew) / seconds;
}

const json& list(const json& answer, const char* key) {
  static const json empty = json::array();
  const json& value = json_member(answer, key);
  return value.is_array() ? value : empty;
}

// The element of `items` whose `key` equals `value`, or null.
const json& find_by(const json& items, const char* key, const json& value) {
  static const json missing;
  if (value.is_null()) return missing;
  auto it = std::find_if(items.begin(), items.end(),
                         [&](const json& item) { return json_member(item, key) == value; });
  return it == items.end() ? missing : *it;
}

json port_rates(const json& before, const json& after, double seconds) {
  return json{{"name", json_member(after, "name")},
              {"kind", json_member(after, "kind")},
              {"connected", json_member(after, "connected")},
              {"rx_pps", per_second(before, after, "rx_packets", seconds)},
              {"tx_pps", per_second(before, after, "tx_packets", seconds)},
              {"drops_per_second", per_second(before, after, "drops", seconds)}};
}

json worker_rates(const json& before, const json& after, double seconds, uint64_t tsc_hz) {
  std::optional<uint64_t> cycles = growth(before, after, "busy_cycles");
  std::optional<uint64_t> packets = growth(before, after, "packets");
  json busy = nullptr;
  if (cycles && tsc_hz > 0 && seconds > 0) {
    // Cycles are counted per burst: rounding at the interval's ends may pass 100 a little.
    busy = std::min(100.0,
                    100.0 * static_cast<double>(*cycles) / (static_cast<double>(tsc_hz) * seconds));
  }
  json per_packet = nullptr;
  if (cycles && packets && *packets > 0) {
    per_packet = static_cast<double>(*cycles) / static_cast<double>(*packets);
  }
  const json& queues = json_member(after, "queues");
  return json{{"index", json_member(after, "index")},
              {"core", json_member(after, "core")},
              {"busy_percent", busy},
              {"cycles_per_packet", per_packet},
              {"queues", queues.is_array() ? queues.size() : 0},
              {"sleeps_per_second", per_second(before, after, "sleeps", seconds)}};
}

}  // namespace

json top_rates(const TopSample& before, const TopSample& after, uint64_t tsc_hz) {
  double seconds = after.seconds - before.seconds;
  json ports = json::array();
  for (const json& port : list(after.ports, "ports")) {
    const json& was = find_by(list(before.ports, "ports"), "name", json_member(port, "name"));
    ports.push_back(port_rates(was, port, seconds));
  }
  json workers = json::array();
  for (const json& worker : list(after.workers, "workers")) {
    const json& was =
        find_by(list(before.workers, "workers"), "index", json_member(worker, "index"));
    workers.push_back(worker_rates(was, worker, seconds, tsc_hz));
  }
  return json{{"seconds", seconds}, {"ports", std::move(ports)}, {"workers", std::move(workers)}};
}

}  // namespace ringlane::ctl
