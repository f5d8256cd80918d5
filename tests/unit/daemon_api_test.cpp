// DaemonApi against a fake ControlTarget: every endpoint's answer, and every way a request is
// refused (bad JSON, wrong types, unknown keys, unknown ports, wrong methods, the target's own
// errors), with the promise that a refused request calls nothing that changes the target.
#include "ringlane/control/daemon_api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "ringlane/control/metrics_text.h"

namespace ringlane::control {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Json = nlohmann::json;

class FakeTarget : public ControlTarget {
 public:
  FakeTarget() {
    PortView vm0;
    vm0.name = "vm0";
    vm0.kind = "vhost";
    vm0.connected = true;
    vm0.queue_pairs = 2;
    vm0.features = {"mrg_rxbuf", "event_idx"};
    QueueView q0;
    q0.queue_pair = 0;
    q0.worker = 1;
    q0.rx_live = true;
    q0.rx_packets = 10;
    q0.rx_bytes = 1000;
    q0.tx_packets = 20;
    q0.tx_bytes = 2000;
    q0.drop_no_buffers = 1;
    q0.drop_chain = 2;
    q0.busy_cycles = 500;
    q0.polled_packets = 50;
    q0.max_gap_us = 12.5;
    QueueView q1;
    q1.queue_pair = 1;
    q1.rx_packets = 5;
    q1.drop_malformed = 4;
    vm0.queues = {q0, q1};
    vm0.counters = {{"reconnects", 3}};
    PortView up;
    up.name = "up0";
    up.kind = "afxdp";
    up.vlans = "trunk 10+20";
    up.peer = "vm0";
    ports_ = {vm0, up};
    DiskView d0;
    d0.name = "d0";
    d0.socket = "/run/d0.sock";
    d0.image = "/var/d0.img";
    d0.mode = "server";
    d0.connected = true;
    d0.writeback = true;
    d0.size_bytes = 1 << 20;
    d0.features = {"flush", "mq"};
    DiskQueueView dq0;
    dq0.worker = 0;
    dq0.live = true;
    dq0.reads = 3;
    dq0.writes = 4;
    dq0.flushes = 1;
    dq0.bytes_read = 12288;
    dq0.bytes_written = 16384;
    dq0.errors = 1;
    DiskQueueView dq1;
    dq1.queue = 1;
    dq1.worker = 1;
    dq1.in_flight = 2;
    dq1.writes = 2;
    dq1.bytes_written = 8192;
    d0.queues = {dq0, dq1};
    disks_ = {d0};
  }

  DaemonInfo info() const override {
    return DaemonInfo{"1.2.3", "l2", "busy", 1700000000.5, 12.25, 3000000000};
  }
  std::vector<PortView> ports() const override { return ports_; }
  std::optional<PortView> port(std::string_view name) const override {
    for (const PortView& p : ports_) {
      if (p.name == name) return p;
    }
    return std::nullopt;
  }
  Status add_port(const PortConfig& config, std::string_view peer) override {
    calls.push_back("add " + config.name + " peer=" + std::string(peer));
    added = config;
    if (!add_status.ok()) return add_status;
    PortView view;
    view.name = config.name;
    view.kind = to_string(config.kind);
    view.queue_pairs = config.queue_pairs;
    ports_.push_back(view);
    return {};
  }
  Status remove_port(std::string_view name) override {
    calls.push_back("remove " + std::string(name));
    return remove_status;
  }
  std::vector<DiskView> disks() const override { return disks_; }
  std::optional<DiskView> disk(std::string_view name) const override {
    for (const DiskView& d : disks_) {
      if (d.name == name) return d;
    }
    return std::nullopt;
  }
  Status add_disk(const DiskConfig& config) override {
    calls.push_back("add disk " + config.name);
    added_disk = config;
    if (!add_status.ok()) return add_status;
    DiskView view;
    view.name = config.name;
    view.socket = config.socket_path;
    view.image = config.image_path;
    view.queues.resize(config.queues);
    disks_.push_back(view);
    return {};
  }
  Status remove_disk(std::string_view name) override {
    calls.push_back("remove disk " + std::string(name));
    return remove_status;
  }
  std::vector<WorkerView> workers() const override {
    WorkerView w;
    w.index = 1;
    w.core = 3;
    w.packets = 100;
    w.busy_share = 0.5;
    w.cycles_per_packet = 42.5;
    w.idle_share = 0.25;
    w.sleeps = 7;
    w.queues = {WorkerQueue{"vm0", 0, 500, 50}};
    return {w};
  }
  Status move_queue(std::string_view port, uint16_t queue_pair, unsigned worker) override {
    calls.push_back("move " + std::string(port) + " " + std::to_string(queue_pair) + " " +
                    std::to_string(worker));
    return move_status;
  }
  Result<unsigned> rebalance() override {
    calls.push_back("rebalance");
    return rebalance_result;
  }
  void reset_gaps() override { calls.push_back("reset_gaps"); }
  std::vector<FdbEntry> fdb() const override {
    return {FdbEntry{0x525400123456, 10, "vm0", 1.5}, FdbEntry{0x0a0b0c0d0e0f, 0, "up0", 0}};
  }
  Result<size_t> flush_fdb(std::string_view port) override {
    calls.push_back("flush '" + std::string(port) + "'");
    return flush_result;
  }

  std::vector<std::string> calls;  // the mutating methods called, in order
  PortConfig added;
  DiskConfig added_disk;
  Status add_status;
  Status remove_status;
  Status move_status;
  Result<unsigned> rebalance_result = 2u;
  Result<size_t> flush_result = size_t{5};

 private:
  std::vector<PortView> ports_;
  std::vector<DiskView> disks_;
};

class DaemonApiTest : public ::testing::Test {
 protected:
  // The answer's body as JSON (discarded when it is not JSON).
  Json call(std::string_view method, std::string_view target, std::string_view body = "") {
    reply_ = api_.handle(method, target, body);
    return Json::parse(reply_.body, nullptr, false);
  }
  // A refused request: its status, an {"error"} body, and nothing changed.
  std::string refused(int status, std::string_view method, std::string_view target,
                      std::string_view body = "") {
    size_t before = target_.calls.size();
    Json json = call(method, target, body);
    EXPECT_EQ(reply_.status, status) << method << " " << target << " " << body;
    EXPECT_EQ(reply_.content_type, "application/json");
    EXPECT_TRUE(json.is_object() && json.size() == 1 && json.contains("error") &&
                json["error"].is_string())
        << reply_.body;
    EXPECT_EQ(target_.calls.size(), before) << method << " " << target << " " << body;
    return json.is_object() && json.contains("error") && json["error"].is_string()
               ? json["error"].get<std::string>()
               : std::string();
  }

  FakeTarget target_;
  DaemonApi api_{target_};
  ApiReply reply_;
};

TEST_F(DaemonApiTest, Status) {
  Json json = call("GET", "/status");
  EXPECT_EQ(reply_.status, 200);
  EXPECT_EQ(reply_.content_type, "application/json");
  EXPECT_EQ(json["version"], "1.2.3");
  EXPECT_EQ(json["mode"], "l2");
  EXPECT_EQ(json["idle"], "busy");
  EXPECT_EQ(json["uptime_seconds"], 12.25);
  EXPECT_EQ(json["start_time_seconds"], 1700000000.5);
  EXPECT_EQ(json["ports"], 2);
  EXPECT_EQ(json["disks"], 1);
  EXPECT_EQ(json["workers"], 1);
  EXPECT_EQ(json["api_requests"], 1);
  EXPECT_EQ(json["api_errors"], 0);
}

TEST_F(DaemonApiTest, PortsSummarySumsTheQueues) {
  Json json = call("GET", "/ports");
  ASSERT_EQ(reply_.status, 200);
  ASSERT_EQ(json["ports"].size(), 2u);
  const Json& vm0 = json["ports"][0];
  EXPECT_EQ(vm0["name"], "vm0");
  EXPECT_EQ(vm0["kind"], "vhost");
  EXPECT_EQ(vm0["connected"], true);
  EXPECT_EQ(vm0["queue_pairs"], 2);
  EXPECT_EQ(vm0["vlans"], "");
  EXPECT_EQ(vm0["peer"], "");
  EXPECT_EQ(vm0["rx_packets"], 15);
  EXPECT_EQ(vm0["tx_packets"], 20);
  EXPECT_EQ(vm0["drops"], 7);
  EXPECT_FALSE(vm0.contains("queues"));
  EXPECT_EQ(json["ports"][1]["vlans"], "trunk 10+20");
  EXPECT_EQ(json["ports"][1]["peer"], "vm0");
}

TEST_F(DaemonApiTest, OnePort) {
  Json json = call("GET", "/ports/vm0");
  ASSERT_EQ(reply_.status, 200);
  EXPECT_EQ(json["name"], "vm0");
  EXPECT_EQ(json["features"], Json({"mrg_rxbuf", "event_idx"}));
  ASSERT_EQ(json["queues"].size(), 2u);
  const Json& q0 = json["queues"][0];
  EXPECT_EQ(q0["queue_pair"], 0);
  EXPECT_EQ(q0["worker"], 1);
  EXPECT_EQ(q0["rx_live"], true);
  EXPECT_EQ(q0["tx_live"], false);
  EXPECT_EQ(q0["rx_bytes"], 1000);
  EXPECT_EQ(q0["tx_bytes"], 2000);
  EXPECT_EQ(q0["drops"]["no_buffers"], 1);
  EXPECT_EQ(q0["drops"]["chain"], 2);
  EXPECT_EQ(q0["drops"]["too_large"], 0);
  EXPECT_EQ(q0["cycles_per_packet"], 10.0);
  EXPECT_EQ(q0["max_gap_us"], 12.5);
  EXPECT_EQ(json["queues"][1]["cycles_per_packet"], 0.0);  // no packets: no division
  for (const char* key : {"ring_errors", "kicks", "calls", "rx_occupancy", "tx_occupancy",
                          "busy_cycles", "rx_packets", "tx_packets"}) {
    EXPECT_TRUE(q0.contains(key)) << key;
  }
  EXPECT_EQ(json["counters"], Json({{"reconnects", 3}}));
}

TEST_F(DaemonApiTest, PercentEncodedName) {
  call("GET", "/ports/v%6D0");
  EXPECT_EQ(reply_.status, 200);
  EXPECT_THAT(refused(400, "GET", "/ports/vm%"), HasSubstr("percent-encoding"));
  refused(400, "GET", "/ports/vm%4");
  refused(400, "GET", "/ports/vm%zz");
}

TEST_F(DaemonApiTest, UnknownPortIs404) {
  EXPECT_EQ(refused(404, "GET", "/ports/nope"), "no port named 'nope'");
}

TEST_F(DaemonApiTest, AddPort) {
  Json json =
      call("POST", "/ports", R"({"name":"vm2","path":"/tmp/vm2.sock","queues":2,"peer":"vm0"})");
  EXPECT_EQ(reply_.status, 201) << reply_.body;
  EXPECT_EQ(json["name"], "vm2");
  EXPECT_EQ(json["queue_pairs"], 2);
  EXPECT_THAT(target_.calls, ElementsAre("add vm2 peer=vm0"));
  EXPECT_EQ(target_.added.socket_path, "/tmp/vm2.sock");
  EXPECT_EQ(target_.added.queue_pairs, 2);
}

TEST_F(DaemonApiTest, AddPortValuesAsTheSpecWouldSpellThem) {
  call("POST", "/ports",
       R"({"name":"up1","kind":"afxdp","ifname":"eth1","zerocopy":false,"trunk":"10+20"})");
  ASSERT_EQ(reply_.status, 201) << reply_.body;
  EXPECT_EQ(target_.added.kind, PortKind::afxdp);
  EXPECT_EQ(target_.added.zerocopy, ZeroCopy::off);
  EXPECT_EQ(target_.added.trunk_vlans, (std::vector<uint16_t>{10, 20}));
  call("POST", "/ports", R"({"name":"t","kind":"tap","ifname":"rl0","vlan":4094})");
  ASSERT_EQ(reply_.status, 201) << reply_.body;
  EXPECT_EQ(target_.added.access_vlan, 4094);
  EXPECT_THAT(target_.calls, ElementsAre("add up1 peer=", "add t peer="));
}

TEST_F(DaemonApiTest, AddPortRefusals) {
  struct Case {
    const char* body;
    const char* message;
  };
  for (const Case& c : {
           Case{"", "not valid JSON"},
           Case{"{", "not valid JSON"},
           Case{"{\"name\":\"a\",}", "not valid JSON"},
           Case{"[]", "must be a JSON object"},
           Case{"\"name=a\"", "must be a JSON object"},
           Case{"null", "must be a JSON object"},
           Case{R"({"name":"a","path":"/p","colour":"blue"})", "unknown key 'colour' (known: "},
           Case{R"({"name":"a","path":"/p","queues":1.5})", "'queues' must be a string"},
           Case{R"({"name":"a","path":"/p","queues":[2]})", "'queues' must be a string"},
           Case{R"({"name":"a","path":"/p","queues":{}})", "'queues' must be a string"},
           Case{R"({"name":"a","path":"/p","queues":null})", "'queues' must be a string"},
           Case{R"({"name":"a","path":"/p","queues":0})", "queues must be 1-16"},
           Case{R"({"name":"a","path":"/p","queues":-1})", "queues must be 1-16"},
           Case{R"({"name":"a","path":"/p","queues":"x"})", "queues must be 1-16"},
           Case{R"({"name":"a","path":"/p","peer":5})", "'peer' must be"},
           Case{R"({"name":"a"})", "missing path="},
           Case{R"({"path":"/p"})", "missing name="},
           Case{R"({"name":"","path":"/p"})", "missing name="},
           Case{R"({"name":"a","kind":"tap","ifname":"t","path":"/p"})", "'path' does not apply"},
           Case{R"({"name":"a","path":"/p","vlan":5000})", "VLAN id must be 1-4094"},
           Case{R"({"name":"a","path":"/p","vlan":5,"trunk":"6"})", "not both"},
           Case{R"({"name":"a","path":"/p","disable":"warp"})", "warp"},
           Case{R"({"name":"a","path":"/p","type":"vhost-user-blk"})", "unsupported type"},
       }) {
    EXPECT_THAT(refused(400, "POST", "/ports", c.body), HasSubstr(c.message)) << c.body;
  }
}

TEST_F(DaemonApiTest, AddPortTargetErrorsAreMapped) {
  struct Case {
    int code;
    int status;
  };
  for (const Case& c : {Case{EEXIST, 409}, Case{EADDRINUSE, 409}, Case{EBUSY, 409},
                        Case{EINVAL, 400}, Case{ENOENT, 404}, Case{EIO, 500}}) {
    target_.add_status = Error(c.code, "it says no");
    Json json = call("POST", "/ports", R"({"name":"vm0","path":"/p"})");
    EXPECT_EQ(reply_.status, c.status) << c.code;
    EXPECT_EQ(json, Json({{"error", "it says no"}}));
  }
}

TEST_F(DaemonApiTest, RemovePort) {
  Json json = call("DELETE", "/ports/vm0");
  EXPECT_EQ(reply_.status, 200);
  EXPECT_EQ(json, Json({{"removed", "vm0"}}));
  target_.remove_status = Error(ENOENT, "no port 'x'");
  json = call("DELETE", "/ports/x");
  EXPECT_EQ(reply_.status, 404);
  EXPECT_EQ(json, Json({{"error", "no port 'x'"}}));
  EXPECT_THAT(target_.calls, ElementsAre("remove vm0", "remove x"));
  refused(400, "DELETE", "/ports/vm0", "{}");  // takes no body
}

TEST_F(DaemonApiTest, Workers) {
  Json json = call("GET", "/workers");
  ASSERT_EQ(reply_.status, 200);
  ASSERT_EQ(json["workers"].size(), 1u);
  const Json& w = json["workers"][0];
  EXPECT_EQ(w["index"], 1);
  EXPECT_EQ(w["core"], 3);
  EXPECT_EQ(w["packets"], 100);
  EXPECT_EQ(w["busy_share"], 0.5);
  EXPECT_EQ(w["cycles_per_packet"], 42.5);
  EXPECT_EQ(w["idle_share"], 0.25);
  EXPECT_EQ(w["sleeps"], 7);
  EXPECT_EQ(w["queues"],
            Json::parse(R"([{"port":"vm0","queue_pair":0,"busy_cycles":500,"packets":50}])"));
}

TEST_F(DaemonApiTest, MoveQueue) {
  Json json = call("PUT", "/ports/vm0/queues/1", R"({"worker": 2})");
  EXPECT_EQ(reply_.status, 200) << reply_.body;
  EXPECT_EQ(json, Json::parse(R"({"port":"vm0","queue_pair":1,"worker":2})"));
  EXPECT_THAT(target_.calls, ElementsAre("move vm0 1 2"));
  target_.move_status = Error(EBUSY, "busy");
  call("PUT", "/ports/vm0/queues/0", R"({"worker": 0})");
  EXPECT_EQ(reply_.status, 409);
}

TEST_F(DaemonApiTest, MoveQueueRefusals) {
  EXPECT_THAT(refused(400, "PUT", "/ports/vm0/queues/x", R"({"worker":1})"),
              HasSubstr("queue pair"));
  refused(400, "PUT", "/ports/vm0/queues/65536", R"({"worker":1})");
  refused(400, "PUT", "/ports/vm0/queues/-1", R"({"worker":1})");
  refused(400, "PUT", "/ports/vm0/queues/1", "");
  refused(400, "PUT", "/ports/vm0/queues/1", "[1]");
  EXPECT_THAT(refused(400, "PUT", "/ports/vm0/queues/1", "{}"), HasSubstr("missing 'worker'"));
  EXPECT_THAT(refused(400, "PUT", "/ports/vm0/queues/1", R"({"worker":"1"})"),
              HasSubstr("'worker' must be"));
  refused(400, "PUT", "/ports/vm0/queues/1", R"({"worker":-1})");
  refused(400, "PUT", "/ports/vm0/queues/1", R"({"worker":1.5})");
  refused(400, "PUT", "/ports/vm0/queues/1", R"({"worker":4294967296})");
  EXPECT_THAT(refused(400, "PUT", "/ports/vm0/queues/1", R"({"worker":1,"core":2})"),
              HasSubstr("unknown key 'core'"));
  refused(404, "PUT", "/ports/vm0/queues", R"({"worker":1})");
  refused(404, "PUT", "/ports/vm0/queues/", R"({"worker":1})");
  refused(405, "GET", "/ports/vm0/queues/1");
}

TEST_F(DaemonApiTest, Rebalance) {
  Json json = call("POST", "/workers/rebalance");
  EXPECT_EQ(reply_.status, 200);
  EXPECT_EQ(json, Json({{"moved", 2}}));
  call("POST", "/workers/rebalance", " {} ");
  EXPECT_EQ(reply_.status, 200);
  EXPECT_THAT(target_.calls, ElementsAre("rebalance", "rebalance"));
  refused(400, "POST", "/workers/rebalance", R"({"force":true})");
  refused(400, "POST", "/workers/rebalance", "[]");
  refused(400, "POST", "/workers/rebalance", "x");
  target_.rebalance_result = Error(EAGAIN, "no samples yet");
  json = call("POST", "/workers/rebalance");
  EXPECT_EQ(reply_.status, 500);
}

TEST_F(DaemonApiTest, ResetGaps) {
  Json json = call("POST", "/workers/reset-gaps");
  EXPECT_EQ(reply_.status, 200);
  EXPECT_EQ(json, Json({{"reset", true}}));
  refused(400, "POST", "/workers/reset-gaps", R"({"port":"vm0"})");
  refused(405, "GET", "/workers/reset-gaps");
  EXPECT_THAT(target_.calls, ElementsAre("reset_gaps"));
}

TEST_F(DaemonApiTest, Fdb) {
  Json json = call("GET", "/fdb");
  ASSERT_EQ(reply_.status, 200);
  EXPECT_EQ(json, Json::parse(R"({"entries":[
      {"mac":"52:54:00:12:34:56","vlan":10,"port":"vm0","age_seconds":1.5},
      {"mac":"0a:0b:0c:0d:0e:0f","vlan":0,"port":"up0","age_seconds":0.0}]})"));
}

TEST_F(DaemonApiTest, FlushFdb) {
  Json json = call("DELETE", "/fdb");
  EXPECT_EQ(reply_.status, 200);
  EXPECT_EQ(json, Json({{"flushed", 5}}));
  call("DELETE", "/fdb?port=vm0");
  EXPECT_EQ(reply_.status, 200);
  call("DELETE", "/fdb?port=v%6d0");
  EXPECT_EQ(reply_.status, 200);
  EXPECT_THAT(target_.calls, ElementsAre("flush ''", "flush 'vm0'", "flush 'vm0'"));
  target_.flush_result = Error(ENOENT, "no port 'x'");
  call("DELETE", "/fdb?port=x");
  EXPECT_EQ(reply_.status, 404);
  target_.calls.clear();
  refused(400, "DELETE", "/fdb?port=");
  refused(400, "DELETE", "/fdb?vlan=3");
  refused(400, "DELETE", "/fdb?port=a&port=b");
  refused(400, "DELETE", "/fdb?port=%");
  refused(400, "GET", "/fdb?port=vm0");  // only the flush takes a query
}

TEST_F(DaemonApiTest, Metrics) {
  call("GET", "/ports/none");  // one error, counted
  reply_ = api_.handle("GET", "/metrics", "");
  EXPECT_EQ(reply_.status, 200);
  EXPECT_EQ(reply_.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_THAT(reply_.body, HasSubstr("ringlane_api_requests_total 2\n"));
  EXPECT_THAT(reply_.body, HasSubstr("ringlane_api_errors_total 1\n"));
  EXPECT_THAT(reply_.body, HasSubstr("ringlane_fdb_entries 2\n"));
  EXPECT_THAT(
      reply_.body,
      HasSubstr("ringlane_port_packets_total{port=\"vm0\",queue=\"1\",direction=\"rx\"} 5\n"));
}

TEST_F(DaemonApiTest, UnknownPathsAre404) {
  for (const char* path :
       {"/", "", "status", "/statuses", "/status/", "/ports/", "/ports//queues/0",
        "/ports/vm0/queue/0", "/workers/vm0", "/fdb/x", "/metrics/x", "/ports/vm0/queues/0/x",
        "//status", "http://host/status"}) {
    refused(404, "GET", path);
  }
}

TEST_F(DaemonApiTest, WrongMethodsAre405) {
  struct Case {
    const char* method;
    const char* target;
    const char* allowed;
  };
  for (const Case& c :
       {Case{"POST", "/status", "GET"}, Case{"DELETE", "/ports", "GET, POST"},
        Case{"PUT", "/ports/vm0", "GET, DELETE"}, Case{"POST", "/fdb", "GET, DELETE"},
        Case{"GET", "/workers/rebalance", "POST"}, Case{"PUT", "/metrics", "GET"},
        Case{"PATCH", "/workers", "GET"}, Case{"get", "/status", "GET"}}) {
    EXPECT_THAT(refused(405, c.method, c.target, "{}"),
                HasSubstr(std::string("(allowed: ") + c.allowed + ")"))
        << c.method << " " << c.target;
  }
}

TEST_F(DaemonApiTest, BodiesAndQueriesWhereNoneIsTaken) {
  EXPECT_THAT(refused(400, "GET", "/status", "x"), HasSubstr("takes no body"));
  EXPECT_THAT(refused(400, "GET", "/status?verbose=1"), HasSubstr("takes no query"));
  call("GET", "/status", "\r\n");
  EXPECT_EQ(reply_.status, 200);
  call("GET", "/status?");  // an empty query is none
  EXPECT_EQ(reply_.status, 200);
}

TEST_F(DaemonApiTest, CountsRequestsAndErrors) {
  EXPECT_EQ(api_.requests(), 0u);
  call("GET", "/status");
  call("GET", "/nope");
  call("POST", "/status");
  target_.add_status = Error(EEXIST, "exists");
  call("POST", "/ports", R"({"name":"vm0","path":"/p"})");
  EXPECT_EQ(api_.requests(), 4u);
  EXPECT_EQ(api_.bad_requests(), 3u);
  ApiReply refused = api_.refuse(408, "no request within 5 s");
  EXPECT_EQ(refused.status, 408);
  EXPECT_EQ(refused.content_type, "application/json");
  EXPECT_EQ(Json::parse(refused.body), Json({{"error", "no request within 5 s"}}));
  EXPECT_EQ(api_.requests(), 5u);
  EXPECT_EQ(api_.bad_requests(), 4u);
  Json json = call("GET", "/status");
  EXPECT_EQ(json["api_requests"], 6);
  EXPECT_EQ(json["api_errors"], 4);
}

TEST_F(DaemonApiTest, InvalidUtf8InAMessageIsReplacedNotThrown) {
  std::string message = refused(404, "GET", "/ports/%FF%FE");
  EXPECT_THAT(message, HasSubstr("no port"));
  std::string body = "{\"name\":\"a\",\"path\":\"/p\",\"x\xff\":1}";
  refused(400, "POST", "/ports", body);  // the parser refuses invalid UTF-8 itself
}

TEST_F(DaemonApiTest, DisksSummarySumsTheQueues) {
  Json json = call("GET", "/disks");
  ASSERT_EQ(reply_.status, 200);
  ASSERT_EQ(json["disks"].size(), 1u);
  const Json& d0 = json["disks"][0];
  EXPECT_EQ(d0["name"], "d0");
  EXPECT_EQ(d0["socket"], "/run/d0.sock");
  EXPECT_EQ(d0["image"], "/var/d0.img");
  EXPECT_EQ(d0["mode"], "server");
  EXPECT_EQ(d0["connected"], true);
  EXPECT_EQ(d0["queues"], 2);
  EXPECT_EQ(d0["size_bytes"], 1 << 20);
  EXPECT_EQ(d0["requests"], 10);
  EXPECT_EQ(d0["bytes_read"], 12288);
  EXPECT_EQ(d0["bytes_written"], 24576);
  EXPECT_EQ(d0["errors"], 1);
  EXPECT_FALSE(d0.contains("queue_stats"));
}

TEST_F(DaemonApiTest, OneDisk) {
  Json json = call("GET", "/disks/d0");
  ASSERT_EQ(reply_.status, 200);
  EXPECT_EQ(json["writeback"], true);
  EXPECT_EQ(json["features"], Json({"flush", "mq"}));
  ASSERT_EQ(json["queue_stats"].size(), 2u);
  const Json& q0 = json["queue_stats"][0];
  EXPECT_EQ(q0["queue"], 0);
  EXPECT_EQ(q0["worker"], 0);
  EXPECT_EQ(q0["live"], true);
  EXPECT_EQ(q0["requests"], 8);
  EXPECT_EQ(q0["reads"], 3);
  EXPECT_EQ(q0["writes"], 4);
  EXPECT_EQ(q0["flushes"], 1);
  EXPECT_EQ(json["queue_stats"][1]["in_flight"], 2);
  EXPECT_EQ(json["queue_stats"][1]["worker"], 1);
  EXPECT_THAT(refused(404, "GET", "/disks/nope"), HasSubstr("no disk named 'nope'"));
}

TEST_F(DaemonApiTest, AddDisk) {
  Json json = call("POST", "/disks",
                   R"({"name": "d1", "path": "/run/d1.sock", "file": "/var/d1.img",
                       "queues": 2, "readonly": true, "mode": "client", "direct": false})");
  ASSERT_EQ(reply_.status, 201) << reply_.body;
  EXPECT_EQ(json["name"], "d1");
  EXPECT_EQ(json["queue_stats"].size(), 2u);
  EXPECT_THAT(target_.calls, ElementsAre("add disk d1"));
  EXPECT_EQ(target_.added_disk.socket_path, "/run/d1.sock");
  EXPECT_EQ(target_.added_disk.image_path, "/var/d1.img");
  EXPECT_EQ(target_.added_disk.queues, 2);
  EXPECT_TRUE(target_.added_disk.readonly);
  EXPECT_TRUE(target_.added_disk.client_mode);
  EXPECT_EQ(target_.added_disk.direct, std::optional<bool>(false));
}

TEST_F(DaemonApiTest, AddDiskRefusals) {
  EXPECT_THAT(refused(400, "POST", "/disks", "nope"), HasSubstr("not valid JSON"));
  EXPECT_THAT(refused(400, "POST", "/disks", R"({"name": "d1", "path": "/s"})"),
              HasSubstr("missing file="));
  EXPECT_THAT(refused(400, "POST", "/disks", R"({"name": "d1", "file": "/i"})"),
              HasSubstr("missing path="));
  EXPECT_THAT(refused(400, "POST", "/disks", R"({"path": "/s", "file": "/i"})"),
              HasSubstr("missing name="));
  EXPECT_THAT(refused(400, "POST", "/disks", R"({"name": "d1", "path": "/s", "file": "/i",
                                                 "peer": "vm0"})"),
              HasSubstr("unknown key 'peer'"));
  EXPECT_THAT(
      refused(400, "POST", "/disks", R"({"name": "d1", "path": "/s", "file": "/i", "queues": 0})"),
      HasSubstr("queues"));
  EXPECT_THAT(refused(400, "POST", "/disks",
                      R"({"name": "d1", "path": "/s", "file": "/i", "queues": [1]})"),
              HasSubstr("'queues' must be"));
  EXPECT_THAT(refused(400, "POST", "/disks",
                      R"({"name": "d1", "path": "/s", "file": "/i", "mode": "both"})"),
              HasSubstr("mode"));
  EXPECT_THAT(refused(405, "PUT", "/disks", "{}"), HasSubstr("allowed: GET, POST"));
  EXPECT_THAT(refused(405, "POST", "/disks/d0", "{}"), HasSubstr("allowed: GET, DELETE"));
  EXPECT_THAT(refused(400, "DELETE", "/disks/d0", "{}"), HasSubstr("takes no body"));
}

TEST_F(DaemonApiTest, AddDiskTargetErrorsMapToStatuses) {
  const char* body = R"({"name": "d1", "path": "/run/d1.sock", "file": "/var/d1.img"})";
  for (auto [code, status] :
       {std::pair{EEXIST, 409}, {EADDRINUSE, 409}, {EBUSY, 409}, {EINVAL, 400}, {EIO, 500}}) {
    target_.add_status = Error(code, "no");
    Json json = call("POST", "/disks", body);
    EXPECT_EQ(reply_.status, status) << code;
    EXPECT_EQ(json["error"], "no");
  }
}

TEST_F(DaemonApiTest, RemoveDisk) {
  Json json = call("DELETE", "/disks/d0");
  ASSERT_EQ(reply_.status, 200);
  EXPECT_EQ(json["removed"], "d0");
  EXPECT_THAT(target_.calls, ElementsAre("remove disk d0"));
  target_.remove_status = Error(ENOENT, "no disk named 'x'");
  json = call("DELETE", "/disks/x");
  EXPECT_EQ(reply_.status, 404);
  EXPECT_EQ(json["error"], "no disk named 'x'");
}

TEST_F(DaemonApiTest, MetricsShowDisks) {
  call("GET", "/metrics");
  ASSERT_EQ(reply_.status, 200);
  EXPECT_THAT(reply_.body,
              HasSubstr("ringlane_disk_requests_total{disk=\"d0\",queue=\"0\",type=\"in\"} 3\n"));
  EXPECT_THAT(reply_.body, HasSubstr("ringlane_disk_bytes_total{disk=\"d0\",queue=\"1\","
                                     "direction=\"write\"} 8192\n"));
  EXPECT_THAT(reply_.body, HasSubstr("ringlane_disk_in_flight{disk=\"d0\",queue=\"1\"} 2\n"));
  EXPECT_THAT(reply_.body, HasSubstr("ringlane_disk_connected{disk=\"d0\"} 1\n"));
}

}  // namespace
}  // namespace ringlane::control
