// DaemonConfig: everything `ringlane` is told at start-up, from a TOML file and command-line
// flags (flags win). Parsing never crashes on bad input: it returns an error naming the key.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ringlane/base/option_parser.h"
#include "ringlane/base/result.h"

namespace ringlane::control {

// What a switch port is attached to.
enum class PortKind {
  vhost,  // a VM, over a vhost-user-net socket (the default)
  afxdp,  // a host interface through AF_XDP sockets and ringlane's XDP program
  dpdk,   // a DPDK ethdev (a NIC bound to vfio-pci, net_af_packet, net_tap, ...)
  tap,    // a kernel TAP interface: the host's own stack as a switch port
};
const char* to_string(PortKind kind);

enum class XdpAttach { automatic, native, generic };
enum class ZeroCopy { automatic, on, off };

// VLAN ids a port carries: none (the default) forwards frames as they are, tagged or not, among
// the other ports without VLANs; an access port carries one VLAN untagged; a trunk carries its
// VLANs tagged (802.1Q).
inline constexpr uint16_t kMaxVlan = 4094;

struct PortConfig {
  std::string name;
  PortKind kind = PortKind::vhost;
  std::string type = "vhost-user-net";  // the older spelling of kind=vhost
  // vhost
  std::string socket_path;
  bool client_mode = false;                    // ringlane connects to the frontend's socket
  std::vector<std::string> disabled_features;  // e.g. "event_idx", "mrg_rxbuf"
  // vhost: queue pairs; afxdp and dpdk: the interface's queues ringlane serves
  uint16_t queue_pairs = 1;
  // afxdp, tap
  std::string ifname;
  XdpAttach xdp = XdpAttach::automatic;
  ZeroCopy zerocopy = ZeroCopy::automatic;
  // dpdk
  std::string devargs;
  // VLANs: access_vlan 1-4094 or trunk_vlans (sorted, unique), not both; neither = no VLANs
  uint16_t access_vlan = 0;
  std::vector<uint16_t> trunk_vlans;
};

// How the daemon starts DPDK's EAL; used only when a dpdk port is configured.
struct DpdkSettings {
  bool no_huge = false;                  // --no-huge: anonymous memory instead of hugepages
  std::string file_prefix = "ringlane";  // --file-prefix: apart from other DPDK processes
  unsigned memory_mb = 256;              // -m
};

// Ports the switch can index: port numbers are 16 bits, and the MAC table keeps 0xffff for
// "no port".
inline constexpr size_t kMaxPorts = 65535;

// One vhost-user-blk disk: a socket and a backing image (regular file or block device).
struct DiskConfig {
  std::string name;
  std::string socket_path;
  std::string image_path;
  bool client_mode = false;  // ringlane connects to the frontend's socket
  bool readonly = false;
  uint16_t queues = 1;  // 1-16
  // O_DIRECT: unset = where the store allows it (buffered otherwise); true = required (an image
  // that refuses it is an error); false = never.
  std::optional<bool> direct;
  bool discard = true;  // DISCARD/WRITE_ZEROES offered (fallocate)
};
inline constexpr uint16_t kMaxDiskQueues = 16;

struct DaemonConfig {
  std::string cores = "1";
  // Cores for the control thread (vhost-user messages, connects, statistics); empty = every
  // core the process may use apart from the workers', so a frontend's messages never preempt a
  // worker.
  std::string control_cores;
  std::string mode = "xconnect";  // or "l2"
  std::vector<PortConfig> ports;
  std::vector<DiskConfig> disks;  // not switch ports: they take no part in forwarding
  std::vector<std::pair<std::string, std::string>> cross_connects;
  double stats_interval = 0;  // seconds; 0 = no periodic line
  double duration = 0;        // seconds; 0 = until SIGINT/SIGTERM
  double mac_aging = 300;
  // Microseconds a worker that serves only disks polls without finding work before it sleeps
  // until an I/O completes (or kIdleWaitUs pass); 0 = always busy-poll.
  double idle_sleep_us = 0;
  // The control API (--api-sock, its file mode and owner) and the metrics endpoint (--metrics
  // ADDR:PORT); empty = not served.
  std::string api_sock;
  std::string api_sock_mode = "0600";
  std::string api_sock_owner;
  std::string metrics;
  double rebalance_interval = 0;  // seconds between automatic rebalances; 0 = only on request
  std::string summary_path;       // JSON summary on exit; "-" or empty = stdout
  std::string log_level = "info";
  DpdkSettings dpdk;
};

// Parses one `--port` value: "name=N[,kind=vhost|afxdp|dpdk|tap]" and the kind's keys:
// vhost "path=SOCK[,mode=server|client][,queues=N][,disable=event_idx+mrg_rxbuf]"; afxdp
// "ifname=IF[,queues=Q][,xdp=auto|native|generic][,zerocopy=auto|on|off]"; dpdk
// "devargs=DEVARGS[,queues=Q]" (in double quotes when it holds commas); tap "ifname=NAME"; any
// kind "[,vlan=N | ,trunk=N+M+...]". Unknown keys, keys of another kind and repeated keys are
// refused.
Result<PortConfig> parse_port_spec(std::string_view spec);
// The port spec's meaning, from options parsed by other means (the daemon API builds them from a
// JSON object): the same keys, values and checks, with errors starting with `where`. A key that
// is not a port key is refused here too.
Result<PortConfig> parse_port_options(const OptionList& options, std::string_view where);
// Parses one `--disk` value: "name=d0,path=/tmp/d0.sock,file=/var/d0.img[,mode=server|client]
// [,readonly][,queues=Q][,direct=on|off][,discard=on|off]"; `readonly` may also be given as
// readonly=on|off. name, path and file are required; unknown and repeated keys are refused. The
// image is not looked at here (it is opened with the disk).
Result<DiskConfig> parse_disk_spec(std::string_view spec);
// The disk spec's meaning from options parsed by other means (the daemon API's JSON): the same
// keys and values, name, path and file required, errors starting with `where`.
Result<DiskConfig> parse_disk_options(const OptionList& options, std::string_view where);
// Parses TOML text into `config` (keys present override what is there).
Status apply_toml(std::string_view text, std::string_view origin, DaemonConfig& config);
// Checks cross-field rules: each port has its kind's required key (path, ifname or devargs) and
// no other kind's, VLAN ids are 1-4094, port and disk names unique together, socket paths unique
// together, cross-connect ends are ports, mode known, at most kMaxPorts ports, disk queues 1-16.
// Neither ports nor disks are required (a daemon may serve only disks).
Status validate(const DaemonConfig& config);
// The rules of validate() that hold for one port on its own: the type is vhost-user-net, the
// name is set, the kind's required key present and no other kind's, VLAN ids 1-4094 (access or
// trunk, not both), disabled features known. What depends on the rest of the configuration
// (unique names, paths and interfaces, VLANs only on the L2 switch) is validate()'s.
Status validate_port(const PortConfig& port);
// The rules of validate() that hold for one disk on its own: name, socket path and image set,
// queues 1-16. Unique names and paths are validate()'s (or the running daemon's) to check.
Status validate_disk(const DiskConfig& disk);
// Maps feature names to virtio bits; unknown names are an error.
Result<uint64_t> feature_mask(const std::vector<std::string>& names);

}  // namespace ringlane::control
