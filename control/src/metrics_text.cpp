#include "ringlane/control/metrics_text.h"

#include <charconv>
#include <cmath>
#include <initializer_list>
#include <string_view>

namespace ringlane::control {

namespace {

struct Label {
  std::string_view name;
  std::string value;
};

// Writes one family at a time: begin() puts its # HELP and # TYPE, sample() its samples right
// under them, so no family is introduced twice and no sample strays from its family.
class Exposition {
 public:
  void begin(std::string_view name, std::string_view type, std::string_view help) {
    name_ = name;
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;  // constant text: nothing to escape
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }

  void sample(std::initializer_list<Label> labels, uint64_t value) {
    start_sample(labels);
    out_ += std::to_string(value);
    out_ += '\n';
  }

  void sample(std::initializer_list<Label> labels, double value) {
    start_sample(labels);
    // Go's ParseFloat spellings, which Prometheus reads; to_chars would write "inf" and "nan".
    if (std::isnan(value)) {
      out_ += "NaN";
    } else if (std::isinf(value)) {
      out_ += value > 0 ? "+Inf" : "-Inf";
    } else {
      char buf[32];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
      out_.append(buf, ec == std::errc() ? end : buf);
    }
    out_ += '\n';
  }

  std::string take() { return std::move(out_); }

 private:
  void start_sample(std::initializer_list<Label> labels) {
    out_ += name_;
    if (labels.size() != 0) {
      out_ += '{';
      bool first = true;
      for (const Label& label : labels) {
        if (!first) out_ += ',';
        first = false;
        out_ += label.name;
        out_ += "=\"";
        out_ += escape_label_value(label.value);
        out_ += '"';
      }
      out_ += '}';
    }
    out_ += ' ';
  }

  std::string out_;
  std::string_view name_;
};

// A family with one sample per queue of every port (or disk): `value(owner, queue)` for each.
template <typename Owner, typename Queue, typename Value>
void per_queue(const std::vector<Owner>& owners, std::vector<Queue> Owner::*queues, Value value) {
  for (const Owner& owner : owners) {
    for (const Queue& queue : owner.*queues) value(owner, queue);
  }
}

void disk_families(Exposition& out, const std::vector<DiskView>& disks) {
  auto q = [](const DiskQueueView& v) { return std::to_string(v.queue); };
  out.begin("ringlane_disk_requests_total", "counter",
            "Requests a disk's driver sent, by disk, queue and type.");
  per_queue(disks, &DiskView::queues, [&](const DiskView& d, const DiskQueueView& v) {
    for (const auto& [type, count] : {std::pair<const char*, uint64_t>{"in", v.reads},
                                      {"out", v.writes},
                                      {"flush", v.flushes},
                                      {"get_id", v.get_ids},
                                      {"discard", v.discards},
                                      {"write_zeroes", v.write_zeroes},
                                      {"other", v.others}}) {
      out.sample({{"disk", d.name}, {"queue", q(v)}, {"type", type}}, count);
    }
  });
  out.begin("ringlane_disk_bytes_total", "counter",
            "Bytes moved, by disk, queue and direction (read: into the guest, write: into the "
            "image).");
  per_queue(disks, &DiskView::queues, [&](const DiskView& d, const DiskQueueView& v) {
    out.sample({{"disk", d.name}, {"queue", q(v)}, {"direction", "read"}}, v.bytes_read);
    out.sample({{"disk", d.name}, {"queue", q(v)}, {"direction", "write"}}, v.bytes_written);
  });
  out.begin("ringlane_disk_errors_total", "counter",
            "Requests that did not end OK, by disk and queue.");
  per_queue(disks, &DiskView::queues, [&](const DiskView& d, const DiskQueueView& v) {
    out.sample({{"disk", d.name}, {"queue", q(v)}}, v.errors);
  });
  out.begin("ringlane_disk_in_flight", "gauge", "Requests submitted and not yet completed.");
  per_queue(disks, &DiskView::queues, [&](const DiskView& d, const DiskQueueView& v) {
    out.sample({{"disk", d.name}, {"queue", q(v)}}, static_cast<uint64_t>(v.in_flight));
  });
  out.begin("ringlane_disk_connected", "gauge", "1 if the disk's frontend is connected, else 0.");
  for (const DiskView& d : disks) {
    out.sample({{"disk", d.name}}, uint64_t{d.connected ? 1u : 0u});
  }
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string metrics_text(const DaemonInfo& info, const std::vector<PortView>& ports,
                         const std::vector<DiskView>& disks, const std::vector<WorkerView>& workers,
                         size_t fdb_entries, uint64_t api_requests, uint64_t api_errors) {
  Exposition out;
  auto qp = [](const QueueView& q) { return std::to_string(q.queue_pair); };

  out.begin("ringlane_port_packets_total", "counter",
            "Packets by port, queue pair and direction (rx: from the port, tx: into it).");
  per_queue(ports, &PortView::queues, [&](const PortView& p, const QueueView& q) {
    out.sample({{"port", p.name}, {"queue", qp(q)}, {"direction", "rx"}}, q.rx_packets);
    out.sample({{"port", p.name}, {"queue", qp(q)}, {"direction", "tx"}}, q.tx_packets);
  });
  out.begin("ringlane_port_bytes_total", "counter",
            "Bytes by port, queue pair and direction (rx: from the port, tx: into it).");
  per_queue(ports, &PortView::queues, [&](const PortView& p, const QueueView& q) {
    out.sample({{"port", p.name}, {"queue", qp(q)}, {"direction", "rx"}}, q.rx_bytes);
    out.sample({{"port", p.name}, {"queue", qp(q)}, {"direction", "tx"}}, q.tx_bytes);
  });
  out.begin("ringlane_port_drops_total", "counter",
            "Packets dropped, by port, queue pair and reason.");
  per_queue(ports, &PortView::queues, [&](const PortView& p, const QueueView& q) {
    for (const auto& [reason, count] :
         {std::pair<const char*, uint64_t>{"no_buffers", q.drop_no_buffers},
          {"too_large", q.drop_too_large},
          {"queue_down", q.drop_queue_down},
          {"malformed", q.drop_malformed},
          {"chain", q.drop_chain}}) {
      out.sample({{"port", p.name}, {"queue", qp(q)}, {"reason", reason}}, count);
    }
  });
  out.begin("ringlane_port_ring_errors_total", "counter",
            "Broken virtqueue rings met, by port, queue pair and direction.");
  per_queue(ports, &PortView::queues, [&](const PortView& p, const QueueView& q) {
    out.sample({{"port", p.name}, {"queue", qp(q)}, {"direction", "rx"}}, q.rx_ring_errors);
    out.sample({{"port", p.name}, {"queue", qp(q)}, {"direction", "tx"}}, q.tx_ring_errors);
  });
  out.begin("ringlane_port_kicks_total", "counter",
            "Notifications received from the port's driver.");
  per_queue(ports, &PortView::queues, [&](const PortView& p, const QueueView& q) {
    out.sample({{"port", p.name}, {"queue", qp(q)}}, q.kicks);
  });
  out.begin("ringlane_port_calls_total", "counter", "Interrupts sent to the port's driver.");
  per_queue(ports, &PortView::queues, [&](const PortView& p, const QueueView& q) {
    out.sample({{"port", p.name}, {"queue", qp(q)}}, q.calls);
  });
  out.begin("ringlane_port_ring_occupancy", "gauge", "Ring entries waiting, by direction.");
  per_queue(ports, &PortView::queues, [&](const PortView& p, const QueueView& q) {
    out.sample({{"port", p.name}, {"queue", qp(q)}, {"direction", "rx"}},
               static_cast<uint64_t>(q.rx_occupancy));
    out.sample({{"port", p.name}, {"queue", qp(q)}, {"direction", "tx"}},
               static_cast<uint64_t>(q.tx_occupancy));
  });
  out.begin("ringlane_port_connected", "gauge", "1 if the port is connected, else 0.");
  for (const PortView& p : ports) {
    out.sample({{"port", p.name}, {"kind", p.kind}}, uint64_t{p.connected ? 1u : 0u});
  }

  disk_families(out, disks);

  out.begin("ringlane_worker_busy_cycles_total", "counter",
            "TSC cycles a worker spent on loops that found work.");
  for (const WorkerView& w : workers) {
    out.sample({{"worker", std::to_string(w.index)}, {"core", std::to_string(w.core)}},
               w.busy_cycles);
  }
  struct WorkerCounter {
    const char* name;
    const char* help;
    uint64_t WorkerView::*field;
  };
  for (const WorkerCounter& c : {
           WorkerCounter{"ringlane_worker_packets_total", "Packets a worker moved.",
                         &WorkerView::packets},
           WorkerCounter{"ringlane_worker_loops_total", "Polling loops a worker ran.",
                         &WorkerView::loops},
           WorkerCounter{"ringlane_worker_idle_polls_total", "Polling loops that found no work.",
                         &WorkerView::idle_polls},
           WorkerCounter{"ringlane_worker_sleeps_total", "Times a worker slept for lack of work.",
                         &WorkerView::sleeps},
       }) {
    out.begin(c.name, "counter", c.help);
    for (const WorkerView& w : workers)
      out.sample({{"worker", std::to_string(w.index)}}, w.*c.field);
  }
  out.begin("ringlane_worker_cycles_per_packet", "gauge", "A worker's busy cycles per packet.");
  for (const WorkerView& w : workers) {
    out.sample({{"worker", std::to_string(w.index)}}, w.cycles_per_packet);
  }
  out.begin("ringlane_worker_idle_share", "gauge",
            "The share (0-1) of a worker's loops that found no work.");
  for (const WorkerView& w : workers) {
    out.sample({{"worker", std::to_string(w.index)}}, w.idle_share);
  }

  out.begin("ringlane_fdb_entries", "gauge", "Stations in the MAC table.");
  out.sample({}, static_cast<uint64_t>(fdb_entries));
  out.begin("ringlane_api_requests_total", "counter", "API requests answered.");
  out.sample({}, api_requests);
  out.begin("ringlane_api_errors_total", "counter", "API requests answered with an error.");
  out.sample({}, api_errors);
  out.begin("process_start_time_seconds", "gauge",
            "Start time of the process since the Unix epoch, in seconds.");
  out.sample({}, info.start_time_seconds);
  out.begin("ringlane_build_info", "gauge", "The running version, as a label; always 1.");
  out.sample({{"version", info.version}}, uint64_t{1});
  out.begin("ringlane_tsc_hz", "gauge", "The TSC's frequency, which cycle counts are in.");
  out.sample({}, info.tsc_hz);
  return out.take();
}

}  // namespace ringlane::control
