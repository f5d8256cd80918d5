// The rates `ringlane-ctl top` shows, from two samples of the daemon's counters (GET /ports and
// GET /workers, taken an interval apart): per port packets received and sent and frames dropped
// per second, per worker the share of the interval it was busy, the cycles it spent per packet
// and its sleeps per second. Pure: the samples in, the rates as JSON out.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>

namespace ringlane::ctl {

struct TopSample {
  nlohmann::json ports;    // GET /ports' answer
  nlohmann::json workers;  // GET /workers' answer
  double seconds = 0;      // when it was taken (a monotonic clock)
};

// {"seconds": S, "ports": [{"name", "kind", "connected", "rx_pps", "tx_pps",
// "drops_per_second"}], "workers": [{"index", "core", "busy_percent", "cycles_per_packet",
// "queues", "sleeps_per_second"}]}, in `after`'s order. Ports are matched by name and workers by
// index; a rate is null where it cannot be known: a port or worker not in `before`, a counter
// that went back (a port removed and added again under the same name), no time between the
// samples, busy_percent without the TSC rate (`tsc_hz` 0), cycles_per_packet with no packets.
nlohmann::json top_rates(const TopSample& before, const TopSample& after, uint64_t tsc_hz);

}  // namespace ringlane::ctl
