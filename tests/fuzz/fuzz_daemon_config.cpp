// Fuzzes everything that parses operator input: the TOML file, --port and --disk specs and core
// lists.
// Any input must give a value or an error, never a crash, a hang or a leak.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ringlane/base/cpu_affinity.h"
#include "ringlane/control/daemon_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ringlane;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  control::DaemonConfig config;
  if (control::apply_toml(text, "fuzz.toml", config).ok()) {
    if (control::validate(config).ok()) {
      std::set<std::string> names, paths;
      for (const auto& port : config.ports) {
        if (!control::feature_mask(port.disabled_features).ok()) __builtin_trap();  // validated
        names.insert(port.name);
        if (port.kind == control::PortKind::vhost) paths.insert(port.socket_path);
      }
      // Validated: ports and disks share one namespace of names and of socket paths.
      for (const auto& disk : config.disks) {
        if (disk.name.empty() || disk.image_path.empty()) __builtin_trap();
        if (disk.queues < 1 || disk.queues > control::kMaxDiskQueues) __builtin_trap();
        if (!names.insert(disk.name).second || !paths.insert(disk.socket_path).second) {
          __builtin_trap();
        }
      }
    }
    (void)parse_core_list(config.cores);
    if (!config.control_cores.empty()) (void)parse_core_list(config.control_cores);
  }
  if (auto port = control::parse_port_spec(text); port.ok()) {
    if (port->name.empty()) __builtin_trap();
    // Each kind has what it needs to start.
    switch (port->kind) {
      case control::PortKind::vhost:
        if (port->socket_path.empty()) __builtin_trap();
        break;
      case control::PortKind::afxdp:
      case control::PortKind::tap:
        if (port->ifname.empty()) __builtin_trap();
        break;
      case control::PortKind::dpdk:
        if (port->devargs.empty()) __builtin_trap();
        break;
    }
    if (port->queue_pairs < 1 || port->queue_pairs > 16) __builtin_trap();
    if (port->access_vlan > control::kMaxVlan) __builtin_trap();
    if (port->access_vlan != 0 && !port->trunk_vlans.empty()) __builtin_trap();
    for (size_t i = 0; i < port->trunk_vlans.size(); ++i) {
      uint16_t v = port->trunk_vlans[i];
      if (v < 1 || v > control::kMaxVlan) __builtin_trap();
      if (i > 0 && v <= port->trunk_vlans[i - 1]) __builtin_trap();  // sorted, unique
    }
    (void)control::feature_mask(port->disabled_features);
    // A parsed port with known features passes validate() alone on the L2 switch.
    control::DaemonConfig one;
    one.mode = "l2";
    one.ports.push_back(*port);
    if (control::feature_mask(port->disabled_features).ok() && port->type == "vhost-user-net" &&
        !control::validate(one).ok()) {
      __builtin_trap();
    }
  }
  if (auto disk = control::parse_disk_spec(text); disk.ok()) {
    if (disk->name.empty() || disk->socket_path.empty() || disk->image_path.empty()) {
      __builtin_trap();
    }
    if (disk->queues < 1 || disk->queues > control::kMaxDiskQueues) __builtin_trap();
    // A parsed disk passes validate() on its own: the spec checks everything validate() does
    // of one disk.
    control::DaemonConfig one;
    one.disks.push_back(*disk);
    if (!control::validate(one).ok()) __builtin_trap();
  }
  if (auto cores = parse_core_list(text); cores.ok()) {
    if (cores->empty()) __builtin_trap();
    for (int c : *cores) {
      if (c < 0 || c >= 1024) __builtin_trap();
    }
    // Formatting folds runs but never changes the set.
    auto again = parse_core_list(format_core_list(*cores));
    if (!again.ok()) __builtin_trap();
    std::vector<int> a = *cores, b = *again;
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    if (a != b) __builtin_trap();
  }
  return 0;
}
