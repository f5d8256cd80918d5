#include "stats_report.h"

#include <cstdio>
#include <span>
#include <vector>

#include "ringlane/base/tsc_clock.h"

namespace ringlane::dataplane {

namespace {

uint64_t port_drops(const PortQueueStats& q) {
  return q.rx_drop_malformed + q.rx_drop_chain + q.tx_drop_no_buffers + q.tx_drop_too_large +
         q.tx_drop_queue_down;
}

// A queue's (or a disk's summed) counters as the summary shows them; latency in microseconds.
nlohmann::json disk_queue_json(std::span<const blk::DiskQueueStats* const> queues,
                               uint32_t in_flight) {
  using nlohmann::json;
  json requests = json::object(), errors = json::object();
  uint64_t bytes_read = 0, bytes_written = 0, completed = 0, ring_errors = 0, resubmitted = 0;
  LatencyHistogram latency;
  for (size_t k = 0; k < static_cast<size_t>(blk::RequestKind::count); ++k) {
    uint64_t n = 0;
    for (const auto* q : queues) n += q->requests[k].get();
    requests[blk::to_string(static_cast<blk::RequestKind>(k))] = n;
  }
  for (size_t e = 0; e < static_cast<size_t>(blk::DiskError::count); ++e) {
    uint64_t n = 0;
    for (const auto* q : queues) n += q->errors[e].get();
    errors[blk::to_string(static_cast<blk::DiskError>(e))] = n;
  }
  for (const auto* q : queues) {
    bytes_read += q->bytes_read.get();
    bytes_written += q->bytes_written.get();
    completed += q->completed.get();
    ring_errors += q->ring_errors.get();
    resubmitted += q->resubmitted.get();
    latency.merge(q->latency_cycles);
  }
  double us_per_cycle = 1e6 / static_cast<double>(tsc_hz());
  auto us = [&](double q) { return static_cast<double>(latency.quantile(q)) * us_per_cycle; };
  return {{"requests", requests},
          {"completed", completed},
          {"bytes_read", bytes_read},
          {"bytes_written", bytes_written},
          {"in_flight", in_flight},
          {"errors", errors},
          {"ring_errors", ring_errors},
          {"resubmitted", resubmitted},
          {"latency_us", {{"p50", us(0.5)}, {"p99", us(0.99)}, {"p99.9", us(0.999)}}}};
}

nlohmann::json disk_json(const VhostBlkDisk& disk) {
  const blk::BlkDevice& device = disk.device();
  std::vector<const blk::DiskQueueStats*> all;
  uint32_t in_flight = 0;
  nlohmann::json queues = nlohmann::json::array();
  for (uint16_t q = 0; q < device.queue_count(); ++q) {
    const blk::DiskQueue& queue = device.disk_queue(q);
    const blk::DiskQueueStats* stats = &queue.stats();
    all.push_back(stats);
    in_flight += queue.in_flight();
    nlohmann::json one = disk_queue_json(std::span(&stats, 1), queue.in_flight());
    one["queue"] = q;
    queues.push_back(one);
  }
  return {{"name", disk.name()},
          {"connected", disk.connected()},
          {"image", disk.image().path()},
          {"readonly", device.settings().readonly},
          {"direct", device.settings().direct},
          {"capacity_sectors", device.settings().capacity_sectors.load()},
          {"writeback", device.settings().writeback.load()},
          {"totals", disk_queue_json(all, in_flight)},
          {"queues", queues},
          {"vhost_user", vhost_user_json(device.stats())}};
}

}  // namespace

nlohmann::json vhost_user_json(const vhost_user::BackendStats& stats) {
  return {{"messages", stats.messages.get()},
          {"bad_messages", stats.bad_messages.get()},
          {"connections", stats.connections.get()},
          {"disconnects", stats.disconnects.get()}};
}

EngineTotals totals(const Engine& engine, double seconds) {
  EngineTotals t;
  t.seconds = seconds;
  for (const auto& w : engine.workers()) {
    const WorkerStats& s = w->stats();
    t.worker_packets += s.packets.get();
    t.worker_busy_cycles += s.busy_cycles.get();
    t.worker_bursts += s.bursts.get();
    t.worker_idle_polls += s.idle_polls.get();
    t.drops += s.drop_no_route.get() + s.drop_filtered.get() + s.drop_vlan.get();
  }
  for (const auto& p : engine.ports()) {
    if (p == nullptr) continue;  // removed
    for (const auto& q : p->queue_stats()) {
      t.tx_packets += q.tx_packets;
      t.tx_bytes += q.tx_bytes;
      t.drops += port_drops(q);
    }
  }
  return t;
}

std::string rate_line(const EngineTotals& now, const EngineTotals& before) {
  double dt = now.seconds - before.seconds;
  if (dt <= 0) dt = 1e-9;
  // A port removed meanwhile takes its counts with it: never a negative rate.
  uint64_t pkts = now.tx_packets > before.tx_packets ? now.tx_packets - before.tx_packets : 0;
  uint64_t bytes = now.tx_bytes > before.tx_bytes ? now.tx_bytes - before.tx_bytes : 0;
  uint64_t in = now.worker_packets - before.worker_packets;
  uint64_t cycles = now.worker_busy_cycles - before.worker_busy_cycles;
  uint64_t bursts = now.worker_bursts - before.worker_bursts;
  char line[256];
  std::snprintf(line, sizeof(line),
                "%7.1fs %8.3f Mpps %8.3f Gbps %7.0f cyc/pkt  batch %5.1f  drops %llu", now.seconds,
                static_cast<double>(pkts) / dt / 1e6,
                static_cast<double>(bytes + 24 * pkts) * 8 / dt / 1e9,
                in ? static_cast<double>(cycles) / static_cast<double>(in) : 0.0,
                bursts ? static_cast<double>(in) / static_cast<double>(bursts) : 0.0,
                static_cast<unsigned long long>(now.drops));
  return line;
}

nlohmann::json summary_json(const Engine& engine, double seconds) {
  using nlohmann::json;
  json doc;
  doc["seconds"] = seconds;
  doc["mode"] = to_string(engine.config().mode);
  doc["tsc_hz"] = tsc_hz();
  json workers = json::array();
  for (const auto& w : engine.workers()) {
    const WorkerStats& s = w->stats();
    uint64_t pk = s.packets.get(), bursts = s.bursts.get(), idle = s.idle_polls.get();
    workers.push_back({
        {"index", w->index()},
        {"core", w->core()},
        {"packets", pk},
        {"bursts", bursts},
        {"idle_polls", idle},
        {"busy_cycles", s.busy_cycles.get()},
        {"cycles_per_packet",
         pk ? static_cast<double>(s.busy_cycles.get()) / static_cast<double>(pk) : 0.0},
        {"average_batch", bursts ? static_cast<double>(pk) / static_cast<double>(bursts) : 0.0},
        {"idle_poll_ratio",
         bursts + idle ? static_cast<double>(idle) / static_cast<double>(bursts + idle) : 0.0},
        {"drop_no_route", s.drop_no_route.get()},
        {"drop_filtered", s.drop_filtered.get()},
        {"drop_vlan", s.drop_vlan.get()},
        {"flooded", s.flooded.get()},
        {"sleeps", s.sleeps.get()},
    });
  }
  doc["workers"] = workers;
  json ports = json::array();
  for (const auto& p : engine.ports()) {
    if (p == nullptr) continue;  // removed
    json queues = json::array();
    json total = {
        {"rx_packets", 0}, {"rx_bytes", 0}, {"tx_packets", 0}, {"tx_bytes", 0}, {"drops", 0}};
    for (const auto& q : p->queue_stats()) {
      queues.push_back({
          {"queue_pair", q.queue_pair},
          {"rx_live", q.rx_live},
          {"tx_live", q.tx_live},
          {"rx_packets", q.rx_packets},
          {"rx_bytes", q.rx_bytes},
          {"tx_packets", q.tx_packets},
          {"tx_bytes", q.tx_bytes},
          {"drops",
           {{"rx_malformed", q.rx_drop_malformed},
            {"rx_chain", q.rx_drop_chain},
            {"tx_no_buffers", q.tx_drop_no_buffers},
            {"tx_too_large", q.tx_drop_too_large},
            {"tx_queue_down", q.tx_drop_queue_down}}},
          {"ring_errors", q.rx_ring_errors + q.tx_ring_errors},
          {"notifications", q.notifications},
      });
      total["rx_packets"] = total["rx_packets"].get<uint64_t>() + q.rx_packets;
      total["rx_bytes"] = total["rx_bytes"].get<uint64_t>() + q.rx_bytes;
      total["tx_packets"] = total["tx_packets"].get<uint64_t>() + q.tx_packets;
      total["tx_bytes"] = total["tx_bytes"].get<uint64_t>() + q.tx_bytes;
      total["drops"] = total["drops"].get<uint64_t>() + port_drops(q);
    }
    json counters = json::object();
    for (const auto& [name, value] : p->counters()) counters[name] = value;
    ports.push_back({{"name", p->name()},
                     {"kind", p->kind()},
                     {"connected", p->connected()},
                     {"totals", total},
                     {"counters", counters},
                     {"queues", queues}});
  }
  doc["ports"] = ports;
  json disks = json::array();
  for (const auto& d : engine.disks()) {
    if (d != nullptr) disks.push_back(disk_json(*d));
  }
  doc["disks"] = disks;
  return doc;
}

DiskTotals disk_totals(const VhostBlkDisk& disk, double seconds) {
  DiskTotals t;
  t.seconds = seconds;
  const blk::BlkDevice& device = disk.device();
  for (uint16_t q = 0; q < device.queue_count(); ++q) {
    const blk::DiskQueueStats& s = device.disk_queue(q).stats();
    t.requests += s.total_requests();
    t.bytes_read += s.bytes_read.get();
    t.bytes_written += s.bytes_written.get();
    t.errors += s.total_errors();
    t.in_flight += device.disk_queue(q).in_flight();
  }
  return t;
}

std::string disk_rate_line(const std::string& name, const DiskTotals& now,
                           const DiskTotals& before) {
  double dt = now.seconds - before.seconds;
  if (dt <= 0) dt = 1e-9;
  char line[256];
  std::snprintf(line, sizeof(line),
                "  disk %s: %8.1f kIOPS  read %8.1f MB/s  written %8.1f MB/s  in flight %u  "
                "errors %llu",
                name.c_str(), static_cast<double>(now.requests - before.requests) / dt / 1e3,
                static_cast<double>(now.bytes_read - before.bytes_read) / dt / 1e6,
                static_cast<double>(now.bytes_written - before.bytes_written) / dt / 1e6,
                now.in_flight, static_cast<unsigned long long>(now.errors));
  return line;
}

}  // namespace ringlane::dataplane
