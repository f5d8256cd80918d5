// The daemon's metrics in the Prometheus text exposition format 0.0.4 (what GET /metrics serves
// and `promtool check metrics` accepts): every family introduced once by # HELP and # TYPE with
// its samples under it, counters named *_total, label values escaped. Built from the same views
// the JSON API answers with, so the two never disagree.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "ringlane/control/control_target.h"

namespace ringlane::control {

// The content type the text is served with.
inline constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

// Families (all ringlane_ but process_start_time_seconds; labels port, disk, queue = a port's
// queue pair or a disk's queue, direction = rx (received from the port) or tx (sent into it) for
// ports and read or write for disks, type, reason, worker, core, kind, version):
//   port_packets_total, port_bytes_total, port_ring_errors_total {port,queue,direction}
//   port_drops_total {port,queue,reason}: no_buffers, too_large, queue_down, malformed, chain
//   port_kicks_total, port_calls_total {port,queue}
//   port_ring_occupancy {port,queue,direction} (gauge), port_connected {port,kind} (gauge, 0/1)
//   disk_requests_total {disk,queue,type}: in, out, flush, get_id, discard, write_zeroes, other
//   disk_bytes_total {disk,queue,direction}: read (into the guest), write (into the image)
//   disk_errors_total, disk_in_flight (gauge) {disk,queue}; disk_connected {disk} (gauge, 0/1)
//   worker_busy_cycles_total {worker,core}; worker_packets_total, worker_loops_total,
//   worker_idle_polls_total, worker_sleeps_total {worker}; worker_cycles_per_packet,
//   worker_idle_share {worker} (gauges)
//   fdb_entries (gauge), api_requests_total, api_errors_total, process_start_time_seconds
//   (gauge), build_info {version} (gauge, always 1), tsc_hz (gauge)
std::string metrics_text(const DaemonInfo& info, const std::vector<PortView>& ports,
                         const std::vector<DiskView>& disks, const std::vector<WorkerView>& workers,
                         size_t fdb_entries, uint64_t api_requests, uint64_t api_errors);

// A label value as the format writes it between double quotes: backslash, double quote and
// newline escaped.
std::string escape_label_value(std::string_view value);

}  // namespace ringlane::control
