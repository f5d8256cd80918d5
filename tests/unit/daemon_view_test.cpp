#include "ringlane/ctl/daemon_view.h"

#include <gtest/gtest.h>

#include "ringlane/ctl/top_rates.h"

namespace ringlane::ctl {
namespace {

using nlohmann::json;

TEST(DaemonViewTest, Status) {
  json status = json::parse(R"({"version": "0.15.0", "mode": "l2", "idle": "sleep:100",
      "uptime_seconds": 12.345, "start_time_seconds": 1.7e9, "tsc_hz": 2000000000, "ports": 2,
      "workers": 2, "api_requests": 9, "api_errors": 3})");
  EXPECT_EQ(format_status(status),
            "version:       0.15.0\n"
            "mode:          l2\n"
            "idle:          sleep:100\n"
            "uptime:        12.3 s\n"
            "ports:         2\n"
            "workers:       2\n"
            "api requests:  9 (3 refused)\n");
  std::string text = format_status(json::object());
  EXPECT_NE(text.find("uptime:        -\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("disks:"), std::string::npos) << text;
  // A daemon that serves disks counts them.
  status["disks"] = 3;
  EXPECT_EQ(format_status(status),
            "version:       0.15.0\n"
            "mode:          l2\n"
            "idle:          sleep:100\n"
            "uptime:        12.3 s\n"
            "ports:         2\n"
            "disks:         3\n"
            "workers:       2\n"
            "api requests:  9 (3 refused)\n");
}

TEST(DaemonViewTest, Ports) {
  json answer = json::parse(R"({"ports": [
      {"name": "vm0", "kind": "vhost", "connected": true, "queue_pairs": 2, "vlans": "",
       "peer": "vm1", "rx_packets": 1234567, "rx_bytes": 1, "tx_packets": 89, "tx_bytes": 2,
       "drops": 0},
      {"name": "uplink", "kind": "afxdp", "connected": false, "queue_pairs": 1,
       "vlans": "trunk 10+20", "peer": "", "rx_packets": 0, "tx_packets": 0, "drops": 5}]})");
  EXPECT_EQ(format_ports(answer),
            "NAME    KIND   CONNECTED  QUEUES  VLANS        PEER  RX_PACKETS  TX_PACKETS  DROPS\n"
            "vm0     vhost  yes        2       -            vm1      1234567          89      0\n"
            "uplink  afxdp  no         1       trunk 10+20  -              0           0      5\n");
  EXPECT_EQ(format_ports(json::parse(R"({"ports": []})")), "no ports\n");
  EXPECT_EQ(format_ports(json::array()), "no ports\n");
}

TEST(DaemonViewTest, Port) {
  json port = json::parse(R"({"name": "vm0", "kind": "vhost", "connected": true,
      "queue_pairs": 2, "vlans": "access 10", "peer": "", "features": ["mrg_rxbuf", "event_idx"],
      "queues": [
        {"queue_pair": 0, "worker": 1, "rx_live": true, "tx_live": true, "rx_packets": 100,
         "rx_bytes": 6400, "tx_packets": 90, "tx_bytes": 5760,
         "drops": {"no_buffers": 3, "too_large": 0, "queue_down": 1, "malformed": 0, "chain": 0},
         "ring_errors": 0, "kicks": 7, "calls": 8, "rx_occupancy": 2, "tx_occupancy": 0,
         "busy_cycles": 12345, "polled_packets": 100, "cycles_per_packet": 123.45,
         "max_gap_us": 10.0},
        {"queue_pair": 1, "worker": 0, "rx_live": false, "tx_live": false, "rx_packets": 0,
         "rx_bytes": 0, "tx_packets": 0, "tx_bytes": 0,
         "drops": {"no_buffers": 0, "too_large": 0, "queue_down": 0, "malformed": 0, "chain": 0},
         "ring_errors": 0, "kicks": 0, "calls": 0, "rx_occupancy": 0, "tx_occupancy": 0,
         "busy_cycles": 0, "polled_packets": 0, "cycles_per_packet": 0.0, "max_gap_us": 0}],
      "counters": {"reconnects": 1, "bad_descriptors": 0}})");
  EXPECT_EQ(format_port(port),
            "name:         vm0\n"
            "kind:         vhost\n"
            "connected:    yes\n"
            "queue pairs:  2\n"
            "vlans:        access 10\n"
            "peer:         -\n"
            "features:     mrg_rxbuf event_idx\n"
            "\n"
            "QP  WORKER  RX    TX    RX_PACKETS  RX_BYTES  TX_PACKETS  TX_BYTES  DROPS  "
            "RING_ERRORS  KICKS  CALLS  RX_RING  TX_RING  CYCLES/PKT\n"
            "0   1       live  live         100      6400          90      5760      4  "
            "          0      7      8        2        0       123.5\n"
            "1   0       down  down           0         0           0         0      0  "
            "          0      0      0        0        0         0.0\n"
            "\n"
            "drops by reason:\n"
            "  queue pair 0: no_buffers 3, queue_down 1\n"
            "\n"
            "counters:\n"
            "  bad_descriptors  0\n"
            "  reconnects       1\n");
  // A port with nothing but a name: no queue table, no counters.
  EXPECT_EQ(format_port(json::parse(R"({"name": "x"})")),
            "name:         x\n"
            "kind:         -\n"
            "connected:    -\n"
            "queue pairs:  -\n"
            "vlans:        -\n"
            "peer:         -\n"
            "features:     -\n");
}

TEST(DaemonViewTest, Changes) {
  EXPECT_EQ(format_port_added(json::parse(R"({"name": "vm2", "kind": "vhost",
      "queue_pairs": 2})")),
            "added port vm2 (vhost, 2 queue pairs)\n");
  EXPECT_EQ(format_port_added(json::parse(R"({"name": "vm2", "kind": "tap",
      "queue_pairs": 1})")),
            "added port vm2 (tap, 1 queue pair)\n");
  EXPECT_EQ(format_port_removed(json::parse(R"({"removed": "vm2"})")), "removed port vm2\n");
  EXPECT_EQ(format_queue_moved(json::parse(R"({"port": "vm0", "queue_pair": 1, "worker": 0})")),
            "vm0 queue pair 1 is on worker 0\n");
  EXPECT_EQ(format_rebalanced(json::parse(R"({"moved": 0})")), "rebalanced: moved 0 queue pairs\n");
  EXPECT_EQ(format_rebalanced(json::parse(R"({"moved": 1})")), "rebalanced: moved 1 queue pair\n");
  EXPECT_EQ(format_fdb_flushed(json::parse(R"({"flushed": 3})")), "flushed 3 entries\n");
  EXPECT_EQ(format_fdb_flushed(json::parse(R"({"flushed": 1})")), "flushed 1 entry\n");
  EXPECT_EQ(format_fdb_flushed(json::object()), "flushed - entries\n");
}

TEST(DaemonViewTest, Disks) {
  json answer = json::parse(R"({"disks": [
      {"name": "d1", "socket": "/run/d1.sock", "image": "/var/lib/d1.img", "mode": "server",
       "connected": true, "queues": 2, "readonly": false, "direct": true,
       "size_bytes": 8388608, "requests": 1234, "bytes_read": 1572864,
       "bytes_written": 10737418240, "errors": 0},
      {"name": "backup", "socket": "/run/b.sock", "image": "/dev/sdb", "mode": "client",
       "connected": false, "queues": 1, "readonly": true, "direct": false,
       "size_bytes": 0, "requests": 0, "bytes_read": 0, "bytes_written": 0, "errors": 7},
      {"name": "odd"}]})");
  EXPECT_EQ(
      format_disks(answer),
      "NAME    CONNECTED  MODE    QUEUES  RO      SIZE  REQUESTS     READ      WRITTEN  ERRORS\n"
      "d1      yes        server  2       no   8.0 MiB      1234  1.5 MiB  10240.0 MiB       0\n"
      "backup  no         client  1       yes  0.0 MiB         0  0.0 MiB      0.0 MiB       7\n"
      "odd     -          -       -       -          -         -        -            -       -\n");
  EXPECT_EQ(format_disks(json::parse(R"({"disks": []})")), "no disks\n");
  EXPECT_EQ(format_disks(json::object()), "no disks\n");
  // Sizes that are no byte counts show as missing.
  std::string text = format_disks(json::parse(R"({"disks": [{"name": "x", "size_bytes": -1,
      "bytes_read": "many", "bytes_written": 1.5}]})"));
  EXPECT_EQ(text.substr(text.find('\n') + 1),
            "x     -          -     -       -      -         -     -        -       -\n");
}

TEST(DaemonViewTest, Disk) {
  json disk = json::parse(R"({"name": "d1", "socket": "/run/d1.sock",
      "image": "/var/lib/d1.img", "mode": "server", "connected": true, "queues": 2,
      "readonly": false, "direct": true, "size_bytes": 8388608, "requests": 30,
      "bytes_read": 65536, "bytes_written": 4096, "errors": 1, "writeback": true,
      "features": ["version_1", "flush", "discard"],
      "queue_stats": [
        {"queue": 0, "worker": 1, "live": true, "in_flight": 2, "requests": 20, "completed": 18,
         "reads": 16, "writes": 1, "flushes": 1, "discards": 0, "write_zeroes": 0,
         "bytes_read": 65536, "bytes_written": 4096, "errors": 1, "ring_errors": 0},
        {"queue": 1, "worker": 0, "live": false, "in_flight": 0, "requests": 10,
         "completed": 10, "reads": 0, "writes": 0, "flushes": 0, "discards": 10,
         "write_zeroes": 0, "bytes_read": 0, "bytes_written": 0, "errors": 0,
         "ring_errors": 3}]})");
  EXPECT_EQ(format_disk(disk),
            "name:           d1\n"
            "socket:         /run/d1.sock\n"
            "image:          /var/lib/d1.img\n"
            "mode:           server\n"
            "connected:      yes\n"
            "queues:         2\n"
            "readonly:       no\n"
            "direct:         yes\n"
            "writeback:      yes\n"
            "size:           8.0 MiB (8388608 bytes)\n"
            "features:       version_1 flush discard\n"
            "requests:       30\n"
            "bytes read:     65536\n"
            "bytes written:  4096\n"
            "errors:         1\n"
            "\n"
            "QUEUE  WORKER  LIVE  IN_FLIGHT  REQUESTS  READS  WRITES  FLUSHES  DISCARDS  "
            "BYTES_READ  BYTES_WRITTEN  ERRORS  RING_ERRORS\n"
            "0      1       yes           2        20     16       1        1         0  "
            "     65536           4096       1            0\n"
            "1      0       no            0        10      0       0        0        10  "
            "         0              0       0            3\n");
  // A disk with nothing but a name, no features negotiated: no queue table, "-" for the rest.
  EXPECT_EQ(format_disk(json::parse(R"({"name": "x", "features": []})")),
            "name:           x\n"
            "socket:         -\n"
            "image:          -\n"
            "mode:           -\n"
            "connected:      -\n"
            "queues:         -\n"
            "readonly:       -\n"
            "direct:         -\n"
            "writeback:      -\n"
            "size:           -\n"
            "features:       -\n"
            "requests:       -\n"
            "bytes read:     -\n"
            "bytes written:  -\n"
            "errors:         -\n");
  // A queue's missing counters show as "-" too.
  std::string text = format_disk(json::parse(R"({"queue_stats": [{"queue": 0}]})"));
  EXPECT_NE(
      text.find("\n0      -       -             -         -      -       -        -         -  "
                "         -              -       -            -\n"),
      std::string::npos)
      << text;
}

TEST(DaemonViewTest, DiskChanges) {
  EXPECT_EQ(format_disk_added(json::parse(R"({"name": "d1", "socket": "/run/d1.sock",
      "image": "/var/lib/d1.img", "queues": 2})")),
            "added disk d1 (socket /run/d1.sock, image /var/lib/d1.img)\n");
  EXPECT_EQ(format_disk_added(json::object()), "added disk - (socket -, image -)\n");
  EXPECT_EQ(format_disk_removed(json::parse(R"({"removed": "d1"})")), "removed disk d1\n");
  EXPECT_EQ(format_disk_removed(json::object()), "removed disk -\n");
}

TEST(DaemonViewTest, Workers) {
  json answer = json::parse(R"({"workers": [
      {"index": 0, "core": 2, "packets": 1000, "bursts": 10, "idle_polls": 90, "loops": 100,
       "busy_cycles": 50000, "sleeps": 0, "busy_share": 0.4567, "cycles_per_packet": 50.0,
       "idle_share": 0.9, "queues": [{"port": "vm0", "queue_pair": 0, "busy_cycles": 1,
       "packets": 2}, {"port": "vm1", "queue_pair": 1, "busy_cycles": 1, "packets": 2}]},
      {"index": 1, "core": 3, "packets": 0, "busy_share": 0, "cycles_per_packet": 0,
       "idle_share": 1, "sleeps": 17, "queues": []}]})");
  EXPECT_EQ(format_workers(answer),
            "WORKER  CORE  PACKETS  BUSY%  CYCLES/PKT  IDLE%  SLEEPS  QUEUES\n"
            "     0     2     1000   45.7        50.0   90.0       0  vm0:0,vm1:1\n"
            "     1     3        0    0.0         0.0  100.0      17  -\n");
  EXPECT_EQ(format_workers(json::object()), "no workers\n");
}

TEST(DaemonViewTest, Fdb) {
  json answer = json::parse(R"({"entries": [
      {"mac": "52:54:00:00:00:01", "vlan": 0, "port": "vm0", "age_seconds": 1.26},
      {"mac": "52:54:00:00:00:02", "vlan": 10, "port": "uplink", "age_seconds": 0}]})");
  EXPECT_EQ(format_fdb(answer),
            "MAC                PORT    VLAN  AGE_S\n"
            "52:54:00:00:00:01  vm0        0    1.3\n"
            "52:54:00:00:00:02  uplink    10    0.0\n");
  EXPECT_EQ(format_fdb(json::parse(R"({"entries": []})")), "no entries\n");
}

// Two readings one second apart (1.5 s on the clock is what counts).
TopSample sample(double seconds, uint64_t rx, uint64_t tx, uint64_t drops, uint64_t cycles,
                 uint64_t packets, uint64_t sleeps) {
  TopSample s;
  s.seconds = seconds;
  s.ports = json{{"ports",
                  {{{"name", "vm0"},
                    {"kind", "vhost"},
                    {"connected", true},
                    {"rx_packets", rx},
                    {"tx_packets", tx},
                    {"drops", drops}}}}};
  s.workers = json{{"workers",
                    {{{"index", 0},
                      {"core", 1},
                      {"busy_cycles", cycles},
                      {"packets", packets},
                      {"sleeps", sleeps},
                      {"queues", {{{"port", "vm0"}, {"queue_pair", 0}}}}}}}};
  return s;
}

TEST(TopRatesTest, RatesBetweenTwoReadings) {
  TopSample before = sample(10.0, 1000, 500, 0, 1'000'000, 1000, 5);
  TopSample after = sample(12.0, 3000, 1500, 10, 2'000'000'000, 101000, 25);
  json rates = top_rates(before, after, 2'000'000'000);
  EXPECT_DOUBLE_EQ(rates["seconds"].get<double>(), 2.0);
  const json& port = rates["ports"][0];
  EXPECT_EQ(port["name"], "vm0");
  EXPECT_EQ(port["kind"], "vhost");
  EXPECT_EQ(port["connected"], true);
  EXPECT_DOUBLE_EQ(port["rx_pps"].get<double>(), 1000.0);
  EXPECT_DOUBLE_EQ(port["tx_pps"].get<double>(), 500.0);
  EXPECT_DOUBLE_EQ(port["drops_per_second"].get<double>(), 5.0);
  const json& worker = rates["workers"][0];
  EXPECT_EQ(worker["index"], 0);
  EXPECT_EQ(worker["core"], 1);
  // 1.999e9 cycles in 2 s at 2 GHz: 49.975% busy; over 100000 packets.
  EXPECT_NEAR(worker["busy_percent"].get<double>(), 49.975, 1e-9);
  EXPECT_NEAR(worker["cycles_per_packet"].get<double>(), 19990.0, 1e-9);
  EXPECT_EQ(worker["queues"], 1);
  EXPECT_DOUBLE_EQ(worker["sleeps_per_second"].get<double>(), 10.0);

  EXPECT_EQ(
      format_top(json::parse(R"({"version": "0.15.0", "mode": "l2", "idle": "poll"})"), rates),
      "ringlane 0.15.0, mode l2, idle poll; rates over 2.00 s\n"
      "\n"
      "PORT  KIND   CONNECTED  RX_PPS  TX_PPS  DROPS/S\n"
      "vm0   vhost  yes          1000     500        5\n"
      "\n"
      "WORKER  CORE  BUSY%  CYCLES/PKT  QUEUES  SLEEPS/S\n"
      "     0     1   50.0     19990.0       1        10\n");
}

TEST(TopRatesTest, WhatCannotBeKnownIsNull) {
  TopSample before = sample(1.0, 5000, 5000, 0, 100, 10, 0);
  TopSample after = sample(2.0, 10, 10, 0, 200, 10, 0);  // vm0 removed and added again
  after.ports["ports"].push_back({{"name", "vm9"}, {"rx_packets", 1}});  // new
  json rates = top_rates(before, after, 0);                              // no TSC rate
  EXPECT_TRUE(rates["ports"][0]["rx_pps"].is_null());
  EXPECT_TRUE(rates["ports"][0]["tx_pps"].is_null());
  EXPECT_DOUBLE_EQ(rates["ports"][0]["drops_per_second"].get<double>(), 0.0);
  EXPECT_EQ(rates["ports"][1]["name"], "vm9");
  EXPECT_TRUE(rates["ports"][1]["rx_pps"].is_null());
  EXPECT_TRUE(rates["workers"][0]["busy_percent"].is_null());
  EXPECT_TRUE(rates["workers"][0]["cycles_per_packet"].is_null());  // no packets
  // No time between the readings: no rates.
  rates = top_rates(after, after, 1000);
  EXPECT_TRUE(rates["ports"][0]["rx_pps"].is_null());
  EXPECT_TRUE(rates["workers"][0]["busy_percent"].is_null());
  // Not answers at all.
  rates = top_rates(TopSample{}, TopSample{json(1), json("x"), 1.0}, 1000);
  EXPECT_EQ(rates["ports"], json::array());
  EXPECT_EQ(rates["workers"], json::array());
  std::string text = format_top(json::object(), rates);
  EXPECT_EQ(text, "ringlane -, mode -, idle -; rates over 1.00 s\n\nno ports\n\nno workers\n");
}

TEST(TopRatesTest, NullRatesShowAsDashes) {
  json rates = json::parse(R"({"seconds": 1.0, "ports": [{"name": "vm9", "kind": "tap",
      "connected": false, "rx_pps": null, "tx_pps": null, "drops_per_second": null}],
      "workers": [{"index": 0, "core": 0, "busy_percent": null, "cycles_per_packet": null,
      "queues": 0, "sleeps_per_second": null}]})");
  EXPECT_EQ(format_top(json::object(), rates),
            "ringlane -, mode -, idle -; rates over 1.00 s\n"
            "\n"
            "PORT  KIND  CONNECTED  RX_PPS  TX_PPS  DROPS/S\n"
            "vm9   tap   no              -       -        -\n"
            "\n"
            "WORKER  CORE  BUSY%  CYCLES/PKT  QUEUES  SLEEPS/S\n"
            "     0     0      -           -       0         -\n");
}

}  // namespace
}  // namespace ringlane::ctl
