#include "stats_report.h"

#include <cstdio>

#include "ringlane/base/tsc_clock.h"

namespace ringlane::dataplane {

namespace {

uint64_t port_drops(const PortQueueStats& q) {
  return q.rx_drop_malformed + q.rx_drop_chain + q.tx_drop_no_buffers + q.tx_drop_too_large +
         q.tx_drop_queue_down;
}

}  // namespace

EngineTotals totals(const Engine& engine, double seconds) {
  EngineTotals t;
  t.seconds = seconds;
  for (const auto& w : engine.workers()) {
    const WorkerStats& s = w->stats();
    t.worker_packets += s.packets.get();
    t.worker_busy_cycles += s.busy_cycles.get();
    t.worker_bursts += s.bursts.get();
    t.worker_idle_polls += s.idle_polls.get();
    t.drops += s.drop_no_route.get() + s.drop_filtered.get();
  }
  for (const auto& p : engine.ports()) {
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
  uint64_t pkts = now.tx_packets - before.tx_packets;
  uint64_t bytes = now.tx_bytes - before.tx_bytes;
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
        {"flooded", s.flooded.get()},
    });
  }
  doc["workers"] = workers;
  json ports = json::array();
  for (const auto& p : engine.ports()) {
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
    ports.push_back({{"name", p->name()},
                     {"connected", p->connected()},
                     {"totals", total},
                     {"queues", queues}});
  }
  doc["ports"] = ports;
  return doc;
}

}  // namespace ringlane::dataplane
