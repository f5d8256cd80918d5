// Statistics the daemon reports: a one-line rate summary per interval, and a JSON document on
// exit (per port and queue pair, per worker).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "ringlane/dataplane/engine.h"

namespace ringlane::dataplane {

struct EngineTotals {
  double seconds = 0;
  uint64_t worker_packets = 0;
  uint64_t worker_busy_cycles = 0;
  uint64_t worker_bursts = 0;
  uint64_t worker_idle_polls = 0;
  uint64_t tx_packets = 0;  // delivered to ports
  uint64_t tx_bytes = 0;
  uint64_t drops = 0;
};

EngineTotals totals(const Engine& engine, double seconds);
// "12.0s  4.81 Mpps  2.46 Gbps  412 cyc/pkt  batch 31.2  drops 0"
std::string rate_line(const EngineTotals& now, const EngineTotals& before);
nlohmann::json summary_json(const Engine& engine, double seconds);

// A vhost-user connection's own counters (messages, bad ones, connects), as ports and disks
// show them in the summary.
nlohmann::json vhost_user_json(const vhost_user::BackendStats& stats);

// One disk's counters at a moment, for its rate line.
struct DiskTotals {
  double seconds = 0;
  uint64_t requests = 0;
  uint64_t bytes_read = 0;
  uint64_t bytes_written = 0;
  uint64_t errors = 0;
  uint32_t in_flight = 0;
};
DiskTotals disk_totals(const VhostBlkDisk& disk, double seconds);
// "  disk d0: 12.3 kIOPS  read 48.1 MB/s  written 0.0 MB/s  in flight 32  errors 0"
std::string disk_rate_line(const std::string& name, const DiskTotals& now,
                           const DiskTotals& before);

}  // namespace ringlane::dataplane
