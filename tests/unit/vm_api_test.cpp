// VmApi without a machine: its counters and NICs that only pretend.
#include "ringlane/vmm/api/vm_api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace ringlane::vmm {
namespace {

using nlohmann::json;

class FakeNic : public Nic {
 public:
  FakeNic(std::string name, bool has_socket) : name_(std::move(name)), has_socket_(has_socket) {}
  const std::string& name() const override { return name_; }
  std::string model() const override { return "virtio-net"; }
  NicMode mode() const override { return mode_; }
  std::array<uint8_t, 6> mac() const override { return {0x52, 0x54, 0, 0x12, 0x34, 0x56}; }
  bool active() const override { return true; }
  NetBackendCounters counters() const override {
    NetBackendCounters c;
    c.rx_frames = 3;
    c.tx_bytes = 64;
    return c;
  }
  Status set_mode(NicMode mode) override {
    ++switches_;
    if (mode == NicMode::vhost && !has_socket_) {
      return Error(EINVAL, name_ + " has no socket= for vhost mode");
    }
    mode_ = mode;
    return {};
  }
  int switches_ = 0;

 private:
  std::string name_;
  bool has_socket_;
  NicMode mode_ = NicMode::virtio;
};

class VmApiTest : public ::testing::Test {
 protected:
  VmApiTest() {
    nics_.push_back(std::make_unique<FakeNic>("net0", true));
    nics_.push_back(std::make_unique<FakeNic>("net1", false));
    machine_.exits = 7;
  }
  FakeNic& nic(size_t i) { return static_cast<FakeNic&>(*nics_[i]); }

  // The answer's body, which must always be JSON; errors must name what was wrong.
  json body_of(const ApiAnswer& a) {
    json j = json::parse(a.body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << a.body;
    if (a.status >= 400) {
      EXPECT_TRUE(j.contains("fault_message")) << a.body;
    }
    return j;
  }
  std::string fault(const ApiAnswer& a) { return body_of(a).value("fault_message", ""); }

  MachineCounters machine_;
  std::vector<std::unique_ptr<Nic>> nics_;
  VmApi api_{machine_, nics_, 256ULL << 20};
};

TEST_F(VmApiTest, GetVm) {
  ApiAnswer a = api_.handle("GET", "/vm", "");
  ASSERT_EQ(a.status, 200);
  json vm = body_of(a);
  EXPECT_EQ(vm["state"], "running");
  EXPECT_EQ(vm["memory_mib"], 256);
  EXPECT_EQ(vm["exits"]["total"], 7);
  EXPECT_EQ(vm["api_requests"], 1);
  EXPECT_EQ(vm["api_bad_requests"], 0);
  api_.set_running(false);
  EXPECT_EQ(body_of(api_.handle("GET", "/vm", ""))["state"], "stopped");
}

TEST_F(VmApiTest, GetNics) {
  ApiAnswer a = api_.handle("GET", "/vm/nics", "");
  ASSERT_EQ(a.status, 200);
  json nics = body_of(a)["nics"];
  ASSERT_EQ(nics.size(), 2u);
  EXPECT_EQ(nics[0]["name"], "net0");
  EXPECT_EQ(nics[0]["mode"], "virtio");
  EXPECT_EQ(nics[0]["mac"], "52:54:00:12:34:56");
  EXPECT_EQ(nics[0]["counters"]["rx_frames"], 3);
  EXPECT_EQ(nics[0]["counters"]["tx_bytes"], 64);
}

TEST_F(VmApiTest, PutModeSwitches) {
  ApiAnswer a = api_.handle("PUT", "/vm/nics/net0", R"({"mode": "vhost"})");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(body_of(a)["mode"], "vhost");
  EXPECT_EQ(nic(0).mode(), NicMode::vhost);
}

TEST_F(VmApiTest, BadBodiesAreRefusedWithTheReason) {
  struct Case {
    const char* body;
    const char* needle;
  };
  for (const Case& c : {
           Case{"", "JSON object"}, Case{"{", "JSON object"}, Case{"not json", "JSON object"},
           Case{"[\"vhost\"]", "JSON object"}, Case{"\"vhost\"", "JSON object"},
           Case{"{}", "\"mode\" (a string) is required"},
           Case{R"({"mode": 1})", "\"mode\" (a string) is required"},
           Case{R"({"mode": null})", "\"mode\" (a string) is required"},
           Case{R"({"mode": "vhost", "queues": 2})", "unknown field 'queues'"},
           Case{R"({"mode": "rtl8139"})",
                "mode must be emulated (or e1000), virtio, vhost or passthrough, not 'rtl8139'"},
           Case{R"({"mode": "VHOST"})",
                "mode must be emulated (or e1000), virtio, vhost or passthrough"},
           Case{"{\"mode\": \"\xff\"}", "JSON object"},  // not UTF-8: not JSON
       }) {
    ApiAnswer a = api_.handle("PUT", "/vm/nics/net0", c.body);
    EXPECT_EQ(a.status, 400) << c.body;
    EXPECT_NE(fault(a).find(c.needle), std::string::npos) << c.body << " -> " << a.body;
  }
  EXPECT_EQ(nic(0).switches_, 0);
  EXPECT_EQ(api_.requests(), 12u);
  EXPECT_EQ(api_.bad_requests(), 12u);
}

TEST_F(VmApiTest, ASwitchTheNicRefusesIsA400WithItsReason) {
  ApiAnswer a = api_.handle("PUT", "/vm/nics/net1", R"({"mode": "vhost"})");
  EXPECT_EQ(a.status, 400);
  EXPECT_NE(fault(a).find("net1 has no socket= for vhost mode"), std::string::npos) << a.body;
  EXPECT_EQ(nic(1).mode(), NicMode::virtio);
}

TEST_F(VmApiTest, UnknownNic) {
  ApiAnswer a = api_.handle("PUT", "/vm/nics/net9", R"({"mode": "vhost"})");
  EXPECT_EQ(a.status, 404);
  EXPECT_EQ(fault(a), "no NIC named 'net9'");
}

TEST_F(VmApiTest, WrongMethods) {
  EXPECT_EQ(api_.handle("PUT", "/vm", "{}").status, 405);
  EXPECT_EQ(api_.handle("PUT", "/vm/nics", "{}").status, 405);
  EXPECT_EQ(api_.handle("GET", "/vm/nics/net0", "").status, 405);
  EXPECT_EQ(api_.handle("POST", "/vm", "").status, 405);
  EXPECT_EQ(fault(api_.handle("GET", "/vm/nics/net0", "")), "PUT only");
  EXPECT_EQ(nic(0).switches_, 0);
}

TEST_F(VmApiTest, UnknownPaths) {
  for (const char* path : {"/", "/vm/", "/vms", "/vm/nics/", "/vm?x=1", "/vm/nicsnet0", ""}) {
    ApiAnswer a = api_.handle("GET", path, "");
    EXPECT_EQ(a.status, 404) << path;
    EXPECT_EQ(fault(a), std::string("no resource ") + path);
  }
}

TEST_F(VmApiTest, BytesThatAreNotUtf8StillGiveJson) {
  ApiAnswer a = api_.handle("GET", "/\xff\xfe\"", "");
  EXPECT_EQ(a.status, 404);
  EXPECT_FALSE(json::parse(a.body, nullptr, false).is_discarded()) << a.body;
  a = api_.handle("PUT", "/vm/nics/\xc3", "{}");
  EXPECT_EQ(a.status, 404);
  EXPECT_FALSE(json::parse(a.body, nullptr, false).is_discarded()) << a.body;
}

TEST_F(VmApiTest, RefusedRequestsCountAsBad) {
  ApiAnswer a = api_.refuse(400, "malformed request line");
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(fault(a), "malformed request line");
  (void)api_.handle("GET", "/nope", "");
  json vm = body_of(api_.handle("GET", "/vm", ""));
  EXPECT_EQ(vm["api_requests"], 3);
  EXPECT_EQ(vm["api_bad_requests"], 2);
}

}  // namespace
}  // namespace ringlane::vmm
