// metrics_text: the exposition's structure as Prometheus reads it (every family introduced once
// by # HELP and # TYPE before its samples, samples of a family together, counters named *_total,
// no series twice) and its escaping, over views with awkward names.
#include "ringlane/control/metrics_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace ringlane::control {
namespace {

using ::testing::HasSubstr;

struct Fixture {
  DaemonInfo info{"0.1.0", "l2", "busy", 1700000000.25, 5, 2400000000};
  std::vector<PortView> ports;
  std::vector<DiskView> disks;
  std::vector<WorkerView> workers;

  Fixture() {
    PortView a;
    a.name = "vm0";
    a.kind = "vhost";
    a.connected = true;
    QueueView q;
    q.rx_packets = 3;
    q.tx_bytes = 64;
    q.drop_too_large = 2;
    q.rx_ring_errors = 1;
    q.kicks = 9;
    q.rx_occupancy = 17;
    a.queues.push_back(q);
    q.queue_pair = 1;
    a.queues.push_back(q);
    PortView b;
    b.name = "we\"ird\\na\nme";  // escaped in every label
    b.kind = "tap";
    b.queues.push_back(QueueView{});
    ports = {a, b};
    DiskView d;
    d.name = "d0";
    d.connected = true;
    DiskQueueView dq;
    dq.reads = 5;
    dq.discards = 1;
    dq.bytes_read = 20480;
    dq.in_flight = 3;
    d.queues = {dq, dq};
    d.queues[1].queue = 1;
    disks = {d};
    WorkerView w;
    w.index = 0;
    w.core = 2;
    w.busy_cycles = 123;
    w.cycles_per_packet = std::numeric_limits<double>::quiet_NaN();
    w.idle_share = 0.5;
    workers = {w, w};
    workers[1].index = 1;
    workers[1].core = 4;
    workers[1].cycles_per_packet = std::numeric_limits<double>::infinity();
  }

  std::string text() const { return metrics_text(info, ports, disks, workers, 4, 10, 3); }
};

// A sample line's metric name and its series (name with labels).
std::pair<std::string, std::string> series_of(const std::string& line) {
  size_t brace = line.find('{');
  size_t space = line.find(' ');
  if (brace != std::string::npos && brace < space) {
    // Label values may hold spaces and escaped quotes: the series ends at the last '}'.
    size_t close = line.rfind('}');
    return {line.substr(0, brace), line.substr(0, close + 1)};
  }
  return {line.substr(0, space), line.substr(0, space)};
}

TEST(MetricsText, StructureAsPrometheusReadsIt) {
  std::string text = Fixture().text();
  ASSERT_FALSE(text.empty());
  ASSERT_EQ(text.back(), '\n');
  std::istringstream in(text);
  std::string line;
  std::map<std::string, std::string> types;  // family -> type
  std::set<std::string> helped;
  std::set<std::string> finished;  // families whose samples are over
  std::set<std::string> series;
  std::string current;
  size_t samples = 0;
  while (std::getline(in, line)) {
    ASSERT_FALSE(line.empty());
    if (line.rfind("# HELP ", 0) == 0) {
      std::string name = line.substr(7, line.find(' ', 7) - 7);
      EXPECT_TRUE(helped.insert(name).second) << "HELP twice: " << name;
      if (!current.empty() && current != name) finished.insert(current);
      current = name;
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream fields(line.substr(7));
      std::string name, type;
      fields >> name >> type;
      EXPECT_EQ(name, current) << "TYPE apart from its HELP";
      EXPECT_TRUE(type == "counter" || type == "gauge") << line;
      EXPECT_TRUE(types.emplace(name, type).second) << "TYPE twice: " << name;
      if (type == "counter") {
        EXPECT_THAT(name, ::testing::EndsWith("_total"));
      }
      continue;
    }
    ASSERT_NE(line[0], '#') << line;
    auto [name, one] = series_of(line);
    ASSERT_TRUE(types.count(name)) << "sample before its TYPE: " << line;
    EXPECT_EQ(name, current) << "sample away from its family: " << line;
    EXPECT_FALSE(finished.count(name)) << line;
    EXPECT_TRUE(series.insert(one).second) << "series twice: " << one;
    ++samples;
  }
  EXPECT_EQ(helped.size(), types.size());
  for (const char* family : {"ringlane_port_packets_total",
                             "ringlane_port_bytes_total",
                             "ringlane_port_drops_total",
                             "ringlane_port_ring_errors_total",
                             "ringlane_port_kicks_total",
                             "ringlane_port_calls_total",
                             "ringlane_port_ring_occupancy",
                             "ringlane_port_connected",
                             "ringlane_disk_requests_total",
                             "ringlane_disk_bytes_total",
                             "ringlane_disk_errors_total",
                             "ringlane_disk_in_flight",
                             "ringlane_disk_connected",
                             "ringlane_worker_busy_cycles_total",
                             "ringlane_worker_packets_total",
                             "ringlane_worker_loops_total",
                             "ringlane_worker_idle_polls_total",
                             "ringlane_worker_sleeps_total",
                             "ringlane_worker_cycles_per_packet",
                             "ringlane_worker_idle_share",
                             "ringlane_fdb_entries",
                             "ringlane_api_requests_total",
                             "ringlane_api_errors_total",
                             "process_start_time_seconds",
                             "ringlane_build_info",
                             "ringlane_tsc_hz"}) {
    EXPECT_TRUE(types.count(family)) << family;
  }
  // 3 queues x (2 packets + 2 bytes + 5 drops + 2 ring errors + kicks + calls + 2 occupancy),
  // 2 ports connected, 2 disk queues x (7 request types + 2 bytes + errors + in flight), 1 disk
  // connected, 2 workers x 7, and 6 without labels.
  EXPECT_EQ(samples, 3u * 15 + 2 + 2 * 11 + 1 + 2 * 7 + 6);
}

TEST(MetricsText, Values) {
  std::string text = Fixture().text();
  EXPECT_THAT(
      text,
      HasSubstr("ringlane_port_packets_total{port=\"vm0\",queue=\"0\",direction=\"rx\"} 3\n"));
  EXPECT_THAT(
      text, HasSubstr("ringlane_port_bytes_total{port=\"vm0\",queue=\"1\",direction=\"tx\"} 64\n"));
  EXPECT_THAT(
      text,
      HasSubstr("ringlane_port_drops_total{port=\"vm0\",queue=\"0\",reason=\"too_large\"} 2\n"));
  EXPECT_THAT(
      text,
      HasSubstr("ringlane_port_ring_errors_total{port=\"vm0\",queue=\"0\",direction=\"rx\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("ringlane_port_kicks_total{port=\"vm0\",queue=\"1\"} 9\n"));
  EXPECT_THAT(
      text,
      HasSubstr("ringlane_port_ring_occupancy{port=\"vm0\",queue=\"0\",direction=\"rx\"} 17\n"));
  EXPECT_THAT(text, HasSubstr("ringlane_port_connected{port=\"vm0\",kind=\"vhost\"} 1\n"));
  EXPECT_THAT(
      text,
      HasSubstr("ringlane_disk_requests_total{disk=\"d0\",queue=\"1\",type=\"discard\"} 1\n"));
  EXPECT_THAT(
      text,
      HasSubstr("ringlane_disk_bytes_total{disk=\"d0\",queue=\"0\",direction=\"read\"} 20480\n"));
  EXPECT_THAT(text, HasSubstr("ringlane_disk_in_flight{disk=\"d0\",queue=\"0\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("ringlane_disk_connected{disk=\"d0\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("ringlane_worker_busy_cycles_total{worker=\"1\",core=\"4\"} 123\n"));
  EXPECT_THAT(text, HasSubstr("ringlane_worker_cycles_per_packet{worker=\"0\"} NaN\n"));
  EXPECT_THAT(text, HasSubstr("ringlane_worker_cycles_per_packet{worker=\"1\"} +Inf\n"));
  EXPECT_THAT(text, HasSubstr("ringlane_worker_idle_share{worker=\"0\"} 0.5\n"));
  EXPECT_THAT(text, HasSubstr("\nringlane_fdb_entries 4\n"));
  EXPECT_THAT(text, HasSubstr("\nringlane_api_requests_total 10\n"));
  EXPECT_THAT(text, HasSubstr("\nringlane_api_errors_total 3\n"));
  EXPECT_THAT(text, HasSubstr("\nprocess_start_time_seconds 1700000000.25\n"));
  EXPECT_THAT(text, HasSubstr("\nringlane_build_info{version=\"0.1.0\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("\nringlane_tsc_hz 2400000000\n"));
}

TEST(MetricsText, LabelValuesEscaped) {
  EXPECT_EQ(escape_label_value("plain"), "plain");
  EXPECT_EQ(escape_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  std::string text = Fixture().text();
  EXPECT_THAT(text,
              HasSubstr("ringlane_port_connected{port=\"we\\\"ird\\\\na\\nme\",kind=\"tap\"} 0\n"));
}

TEST(MetricsText, NoPortsNoWorkers) {
  std::string text = metrics_text(DaemonInfo{}, {}, {}, {}, 0, 0, 0);
  EXPECT_THAT(text, HasSubstr("# TYPE ringlane_port_packets_total counter\n# HELP"));
  EXPECT_THAT(text, HasSubstr("\nringlane_fdb_entries 0\n"));
  EXPECT_THAT(text, HasSubstr("\nringlane_build_info{version=\"\"} 1\n"));
}

}  // namespace
}  // namespace ringlane::control
