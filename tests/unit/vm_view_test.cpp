#include "ringlane/ctl/vm_view.h"

#include <gtest/gtest.h>

namespace ringlane::ctl {
namespace {

using nlohmann::json;

TEST(VmViewTest, Vm) {
  json vm = json::parse(R"({"state": "running", "vcpus": 1, "memory_mib": 256,
      "exits": {"total": 10, "pio": 4, "mmio": 6, "unhandled_pio": 0, "unhandled_mmio": 1},
      "api_requests": 5, "api_bad_requests": 2})");
  EXPECT_EQ(format_vm(vm),
            "state:         running\n"
            "vcpus:         1\n"
            "memory:        256 MiB\n"
            "exits:         10 (port I/O 4, MMIO 6, unhandled port I/O 0, unhandled MMIO 1)\n"
            "api requests:  5 (2 bad)\n");
}

TEST(VmViewTest, MissingFieldsShowAsDashes) {
  std::string text = format_vm(json::parse(R"({"state": "stopped"})"));
  EXPECT_NE(text.find("state:         stopped\n"), std::string::npos) << text;
  EXPECT_NE(text.find("memory:        -\n"), std::string::npos) << text;
  EXPECT_NE(format_vm(json::array()).find("state:         -"), std::string::npos);
  EXPECT_EQ(format_nics(json::object()), "no NICs\n");
  EXPECT_EQ(format_nics(json::parse(R"({"nics": []})")), "no NICs\n");
  EXPECT_EQ(format_nic(json(5)), "-: mode - (-, -)\n");
}

TEST(VmViewTest, NicsTable) {
  json answer = json::parse(R"({"nics": [
      {"name": "net0", "model": "virtio-net", "mode": "virtio", "mac": "52:54:00:12:34:56",
       "active": true, "counters": {"rx_frames": 12, "tx_frames": 3, "rx_bytes": 1234,
       "tx_bytes": 192, "drops": 0, "kicks": 1}},
      {"name": "net1", "model": "virtio-net", "mode": "vhost", "mac": "52:54:00:12:34:57",
       "active": false, "counters": {"rx_frames": 0, "tx_frames": 0, "rx_bytes": 0,
       "tx_bytes": 0, "drops": 7}}]})");
  EXPECT_EQ(format_nics(answer),
            "NAME  MODE    MODEL       MAC                ACTIVE  RX_FRAMES  TX_FRAMES  RX_BYTES  "
            "TX_BYTES  DROPS\n"
            "net0  virtio  virtio-net  52:54:00:12:34:56  yes            12          3      1234  "
            "     192      0\n"
            "net1  vhost   virtio-net  52:54:00:12:34:57  no              0          0         0  "
            "       0      7\n");
  EXPECT_EQ(format_nic(answer["nics"][1]), "net1: mode vhost (virtio-net, 52:54:00:12:34:57)\n");
}

}  // namespace
}  // namespace ringlane::ctl
