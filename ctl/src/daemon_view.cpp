#include "ringlane/ctl/daemon_view.h"

#include <cmath>
#include <cstdio>
#include <vector>

#include "ringlane/ctl/text_table.h"

namespace ringlane::ctl {

namespace {

using nlohmann::json;
using Rows = std::vector<std::vector<std::string>>;

// A number with `decimals` digits after the point; "-" for anything else (null: not known).
std::string fixed(const json& value, int decimals) {
  if (!value.is_number()) return "-";
  double number = value.get<double>();
  if (!std::isfinite(number)) return "-";
  char text[64];
  std::snprintf(text, sizeof(text), "%.*f", decimals, number);
  return text;
}

// A share (0-1) as a percentage with one decimal.
std::string percent(const json& share) {
  return share.is_number() ? fixed(share.get<double>() * 100.0, 1) : "-";
}

// Text a table cell can hold: "" (no VLANs, no peer) shows as "-" like a missing field.
std::string cell(const json& object, const char* key) {
  std::string text = json_field(object, key);
  return text.empty() ? "-" : text;
}

const json& list(const json& answer, const char* key) {
  static const json empty = json::array();
  const json& value = json_member(answer, key);
  return value.is_array() ? value : empty;
}

// A size in bytes as MiB with one decimal ("8.0 MiB"); ctl has no other unit for sizes
// (vm_view.h's memory is MiB too). "-" when not a byte count.
std::string mebibytes(const json& bytes) {
  if (!bytes.is_number_unsigned()) return "-";
  return fixed(static_cast<double>(bytes.get<uint64_t>()) / (1024.0 * 1024.0), 1) + " MiB";
}

// A list of names (a port's or a disk's negotiated features) on one line; "" when there are none.
std::string words(const json& object, const char* key) {
  std::string text;
  for (const json& w : list(object, key)) {
    if (!text.empty()) text += ' ';
    text += w.is_string() ? w.get<std::string>() : w.dump();
  }
  return text;
}

// "N thing(s)" for a count in an answer.
std::string count_of(const json& object, const char* key, const char* one, const char* many) {
  return json_field(object, key) + " " + (json_member(object, key) == 1 ? one : many);
}

}  // namespace

std::string format_status(const json& status) {
  std::string uptime = fixed(json_member(status, "uptime_seconds"), 1);
  Rows rows = {
      {"version:", json_field(status, "version")},
      {"mode:", json_field(status, "mode")},
      {"idle:", json_field(status, "idle")},
      {"uptime:", uptime == "-" ? uptime : uptime + " s"},
      {"ports:", json_field(status, "ports")},
  };
  // A daemon from before disks could be added at runtime does not count them.
  if (!json_member(status, "disks").is_null()) {
    rows.push_back({"disks:", json_field(status, "disks")});
  }
  rows.push_back({"workers:", json_field(status, "workers")});
  rows.push_back({"api requests:", json_field(status, "api_requests") + " (" +
                                       json_field(status, "api_errors") + " refused)"});
  return format_table(rows, 2);
}

std::string format_ports(const json& answer) {
  const json& ports = list(answer, "ports");
  if (ports.empty()) return "no ports\n";
  Rows rows = {{"NAME", "KIND", "CONNECTED", "QUEUES", "VLANS", "PEER", "RX_PACKETS", "TX_PACKETS",
                "DROPS"}};
  for (const json& p : ports) {
    rows.push_back({cell(p, "name"), cell(p, "kind"), cell(p, "connected"), cell(p, "queue_pairs"),
                    cell(p, "vlans"), cell(p, "peer"), cell(p, "rx_packets"), cell(p, "tx_packets"),
                    cell(p, "drops")});
  }
  // QUEUES is a number but reads with the words before it; the counters align right.
  return format_table(rows, 6);
}

std::string format_port(const json& port) {
  std::string features = words(port, "features");
  Rows head = {
      {"name:", cell(port, "name")},
      {"kind:", cell(port, "kind")},
      {"connected:", cell(port, "connected")},
      {"queue pairs:", cell(port, "queue_pairs")},
      {"vlans:", cell(port, "vlans")},
      {"peer:", cell(port, "peer")},
      {"features:", features.empty() ? "-" : features},
  };
  std::string out = format_table(head, 2);

  const json& queues = list(port, "queues");
  if (!queues.empty()) {
    Rows rows = {{"QP", "WORKER", "RX", "TX", "RX_PACKETS", "RX_BYTES", "TX_PACKETS", "TX_BYTES",
                  "DROPS", "RING_ERRORS", "KICKS", "CALLS", "RX_RING", "TX_RING", "CYCLES/PKT"}};
    std::string reasons;
    for (const json& q : queues) {
      const json& drops = json_member(q, "drops");
      uint64_t dropped = 0;
      std::string why;
      if (drops.is_object()) {
        for (const auto& [reason, count] : drops.items()) {
          if (!count.is_number_unsigned() || count.get<uint64_t>() == 0) continue;
          dropped += count.get<uint64_t>();
          why += (why.empty() ? "" : ", ") + reason + " " + std::to_string(count.get<uint64_t>());
        }
      }
      if (!why.empty())
        reasons += "  queue pair " + json_field(q, "queue_pair") + ": " + why + "\n";
      rows.push_back(
          {json_field(q, "queue_pair"), json_field(q, "worker"),
           json_member(q, "rx_live") == true ? "live" : "down",
           json_member(q, "tx_live") == true ? "live" : "down", json_field(q, "rx_packets"),
           json_field(q, "rx_bytes"), json_field(q, "tx_packets"), json_field(q, "tx_bytes"),
           drops.is_object() ? std::to_string(dropped) : "-", json_field(q, "ring_errors"),
           json_field(q, "kicks"), json_field(q, "calls"), json_field(q, "rx_occupancy"),
           json_field(q, "tx_occupancy"), fixed(json_member(q, "cycles_per_packet"), 1)});
    }
    out += "\n" + format_table(rows, 4);
    if (!reasons.empty()) out += "\ndrops by reason:\n" + reasons;
  }

  const json& counters = json_member(port, "counters");
  if (counters.is_object() && !counters.empty()) {
    Rows rows;
    for (const auto& [name, value] : counters.items()) {
      rows.push_back({"  " + name, json_field(counters, name.c_str())});
    }
    out += "\ncounters:\n" + format_table(rows, 1);
  }
  return out;
}

std::string format_port_added(const json& port) {
  return "added port " + json_field(port, "name") + " (" + json_field(port, "kind") + ", " +
         count_of(port, "queue_pairs", "queue pair", "queue pairs") + ")\n";
}

std::string format_port_removed(const json& answer) {
  return "removed port " + json_field(answer, "removed") + "\n";
}

std::string format_disks(const json& answer) {
  const json& disks = list(answer, "disks");
  if (disks.empty()) return "no disks\n";
  Rows rows = {{"NAME", "CONNECTED", "MODE", "QUEUES", "RO", "SIZE", "REQUESTS", "READ", "WRITTEN",
                "ERRORS"}};
  for (const json& d : disks) {
    rows.push_back({cell(d, "name"), cell(d, "connected"), cell(d, "mode"), cell(d, "queues"),
                    cell(d, "readonly"), mebibytes(json_member(d, "size_bytes")),
                    cell(d, "requests"), mebibytes(json_member(d, "bytes_read")),
                    mebibytes(json_member(d, "bytes_written")), cell(d, "errors")});
  }
  // QUEUES reads with the words before it, as in the ports' table; sizes and counters align right.
  return format_table(rows, 5);
}

std::string format_disk(const json& disk) {
  const json& size = json_member(disk, "size_bytes");
  std::string features = words(disk, "features");
  Rows head = {
      {"name:", cell(disk, "name")},
      {"socket:", cell(disk, "socket")},
      {"image:", cell(disk, "image")},
      {"mode:", cell(disk, "mode")},
      {"connected:", cell(disk, "connected")},
      {"queues:", cell(disk, "queues")},
      {"readonly:", cell(disk, "readonly")},
      {"direct:", cell(disk, "direct")},
      {"writeback:", cell(disk, "writeback")},
      {"size:", size.is_number_unsigned()
                    ? mebibytes(size) + " (" + json_field(disk, "size_bytes") + " bytes)"
                    : "-"},
      {"features:", features.empty() ? "-" : features},
      {"requests:", cell(disk, "requests")},
      {"bytes read:", cell(disk, "bytes_read")},
      {"bytes written:", cell(disk, "bytes_written")},
      {"errors:", cell(disk, "errors")},
  };
  std::string out = format_table(head, 2);

  const json& queues = list(disk, "queue_stats");
  if (queues.empty()) return out;
  Rows rows = {{"QUEUE", "WORKER", "LIVE", "IN_FLIGHT", "REQUESTS", "READS", "WRITES", "FLUSHES",
                "DISCARDS", "BYTES_READ", "BYTES_WRITTEN", "ERRORS", "RING_ERRORS"}};
  for (const json& q : queues) {
    rows.push_back({json_field(q, "queue"), json_field(q, "worker"), json_field(q, "live"),
                    json_field(q, "in_flight"), json_field(q, "requests"), json_field(q, "reads"),
                    json_field(q, "writes"), json_field(q, "flushes"), json_field(q, "discards"),
                    json_field(q, "bytes_read"), json_field(q, "bytes_written"),
                    json_field(q, "errors"), json_field(q, "ring_errors")});
  }
  return out + "\n" + format_table(rows, 3);
}

std::string format_disk_added(const json& disk) {
  return "added disk " + json_field(disk, "name") + " (socket " + json_field(disk, "socket") +
         ", image " + json_field(disk, "image") + ")\n";
}

std::string format_disk_removed(const json& answer) {
  return "removed disk " + json_field(answer, "removed") + "\n";
}

std::string format_workers(const json& answer) {
  const json& workers = list(answer, "workers");
  if (workers.empty()) return "no workers\n";
  Rows rows = {{"WORKER", "CORE", "PACKETS", "BUSY%", "CYCLES/PKT", "IDLE%", "SLEEPS", "QUEUES"}};
  for (const json& w : workers) {
    std::string queues;
    for (const json& q : list(w, "queues")) {
      if (!queues.empty()) queues += ',';
      queues += json_field(q, "port") + ":" + json_field(q, "queue_pair");
    }
    rows.push_back({json_field(w, "index"), json_field(w, "core"), json_field(w, "packets"),
                    percent(json_member(w, "busy_share")),
                    fixed(json_member(w, "cycles_per_packet"), 1),
                    percent(json_member(w, "idle_share")), json_field(w, "sleeps"),
                    queues.empty() ? "-" : queues});
  }
  // Every column but QUEUES, the last, is a number.
  return format_table(rows, 0, 7);
}

std::string format_queue_moved(const json& answer) {
  return json_field(answer, "port") + " queue pair " + json_field(answer, "queue_pair") +
         " is on worker " + json_field(answer, "worker") + "\n";
}

std::string format_rebalanced(const json& answer) {
  return "rebalanced: moved " + count_of(answer, "moved", "queue pair", "queue pairs") + "\n";
}

std::string format_fdb(const json& answer) {
  const json& entries = list(answer, "entries");
  if (entries.empty()) return "no entries\n";
  Rows rows = {{"MAC", "PORT", "VLAN", "AGE_S"}};
  for (const json& e : entries) {
    rows.push_back({json_field(e, "mac"), json_field(e, "port"), json_field(e, "vlan"),
                    fixed(json_member(e, "age_seconds"), 1)});
  }
  return format_table(rows, 2);
}

std::string format_fdb_flushed(const json& answer) {
  return "flushed " + count_of(answer, "flushed", "entry", "entries") + "\n";
}

std::string format_top(const json& status, const json& rates) {
  std::string out = "ringlane " + json_field(status, "version") + ", mode " +
                    json_field(status, "mode") + ", idle " + json_field(status, "idle") +
                    "; rates over " + fixed(json_member(rates, "seconds"), 2) + " s\n\n";
  const json& ports = list(rates, "ports");
  if (ports.empty()) {
    out += "no ports\n";
  } else {
    Rows rows = {{"PORT", "KIND", "CONNECTED", "RX_PPS", "TX_PPS", "DROPS/S"}};
    for (const json& p : ports) {
      rows.push_back({json_field(p, "name"), json_field(p, "kind"), json_field(p, "connected"),
                      fixed(json_member(p, "rx_pps"), 0), fixed(json_member(p, "tx_pps"), 0),
                      fixed(json_member(p, "drops_per_second"), 0)});
    }
    out += format_table(rows, 3);
  }
  out += "\n";
  const json& workers = list(rates, "workers");
  if (workers.empty()) return out + "no workers\n";
  Rows rows = {{"WORKER", "CORE", "BUSY%", "CYCLES/PKT", "QUEUES", "SLEEPS/S"}};
  for (const json& w : workers) {
    rows.push_back({json_field(w, "index"), json_field(w, "core"),
                    fixed(json_member(w, "busy_percent"), 1),
                    fixed(json_member(w, "cycles_per_packet"), 1), json_field(w, "queues"),
                    fixed(json_member(w, "sleeps_per_second"), 0)});
  }
  return out + format_table(rows, 0);
}

}  // namespace ringlane::ctl
