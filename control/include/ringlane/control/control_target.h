// ControlTarget: what the daemon API (DaemonApi) asks of the running switch, as an interface the
// daemon implements over its engine. Everything crosses it as plain data (views copied out on
// the control thread), so control/ needs no dataplane types and the API can be tested against a
// fake. Errors are Status/Result with an errno that DaemonApi maps to an HTTP status:
// EINVAL -> 400, ENOENT -> 404, EEXIST/EADDRINUSE/EBUSY -> 409, anything else -> 500.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ringlane/base/result.h"
#include "ringlane/control/daemon_config.h"

namespace ringlane::control {

// One queue pair of a port. "rx" is what the switch received from the port, "tx" what it sent
// into the port.
struct QueueView {
  uint16_t queue_pair = 0;
  int worker = -1;  // the worker serving it; -1 = none
  bool rx_live = false;
  bool tx_live = false;
  uint64_t rx_packets = 0;
  uint64_t rx_bytes = 0;
  uint64_t tx_packets = 0;
  uint64_t tx_bytes = 0;
  uint64_t drop_no_buffers = 0;
  uint64_t drop_too_large = 0;
  uint64_t drop_queue_down = 0;
  uint64_t drop_malformed = 0;
  uint64_t drop_chain = 0;
  uint64_t ring_errors = 0;     // rx_ring_errors + tx_ring_errors (the JSON's figure)
  uint64_t rx_ring_errors = 0;  // by direction, for the metrics' direction label
  uint64_t tx_ring_errors = 0;
  uint64_t kicks = 0;
  uint64_t calls = 0;
  uint32_t rx_occupancy = 0;  // ring entries waiting
  uint32_t tx_occupancy = 0;
  uint64_t busy_cycles = 0;  // the serving worker's cycles spent on this queue pair
  uint64_t polled_packets = 0;
  // The longest time between two bursts received from the queue pair since gaps were last reset
  // (a stall of its worker, or a move, shows here).
  double max_gap_us = 0;
};

struct PortView {
  std::string name;
  std::string kind;  // "vhost", "afxdp", "dpdk", "tap"
  bool connected = false;
  uint16_t queue_pairs = 0;
  std::string vlans;  // "", "access 10", "trunk 10+20"
  std::string peer;   // cross-connect peer or ""
  std::vector<std::string> features;
  std::vector<QueueView> queues;
  // Kind-specific counters (name, value), in the order they are to be shown.
  std::vector<std::pair<std::string, uint64_t>> counters;
};

// One virtqueue of a disk. Requests count by type as the guest sent them; errors are the
// requests that did not end OK, whoever's fault.
struct DiskQueueView {
  uint16_t queue = 0;
  int worker = -1;  // the worker serving it
  bool live = false;
  uint32_t in_flight = 0;
  uint64_t reads = 0;  // VIRTIO_BLK_T_IN
  uint64_t writes = 0;
  uint64_t flushes = 0;
  uint64_t get_ids = 0;
  uint64_t discards = 0;
  uint64_t write_zeroes = 0;
  uint64_t others = 0;  // unknown types
  uint64_t completed = 0;
  uint64_t bytes_read = 0;  // from the image into the guest
  uint64_t bytes_written = 0;
  uint64_t errors = 0;
  uint64_t ring_errors = 0;  // chains that broke the queue
  uint64_t requests() const {
    return reads + writes + flushes + get_ids + discards + write_zeroes + others;
  }
};

struct DiskView {
  std::string name;
  std::string socket;
  std::string image;
  std::string mode;  // "server" or "client"
  bool connected = false;
  bool readonly = false;
  bool direct = false;
  bool writeback = false;
  uint64_t size_bytes = 0;
  std::vector<std::string> features;  // negotiated; empty before a frontend acked any
  std::vector<DiskQueueView> queues;
};

// A queue pair as one worker sees it.
struct WorkerQueue {
  std::string port;
  uint16_t queue_pair = 0;
  uint64_t busy_cycles = 0;
  uint64_t packets = 0;
};

struct WorkerView {
  unsigned index = 0;
  int core = -1;
  uint64_t packets = 0;
  uint64_t bursts = 0;
  uint64_t idle_polls = 0;
  uint64_t loops = 0;
  uint64_t busy_cycles = 0;
  uint64_t sleeps = 0;
  double busy_share = 0;         // 0-1, of the cycles since the previous sample
  double cycles_per_packet = 0;  // busy cycles per packet
  double idle_share = 0;         // 0-1, loops that found nothing
  std::vector<WorkerQueue> queues;
};

struct FdbEntry {
  uint64_t mac = 0;  // the low 48 bits, first octet most significant
  uint16_t vlan = 0;
  std::string port;
  double age_seconds = 0;
};

struct DaemonInfo {
  std::string version;
  std::string mode;               // "xconnect" or "l2"
  std::string idle;               // the workers' idle policy, as configured
  double start_time_seconds = 0;  // unix time
  double uptime_seconds = 0;
  uint64_t tsc_hz = 0;
};

class ControlTarget {
 public:
  virtual ~ControlTarget() = default;

  virtual DaemonInfo info() const = 0;
  virtual std::vector<PortView> ports() const = 0;
  virtual std::optional<PortView> port(std::string_view name) const = 0;
  // `peer` (xconnect mode): an existing unconnected port to cross-connect the new one with; ""
  // for none. The config has passed validate_port(); mode-dependent rules (VLANs need l2,
  // unique names and paths) are the target's to check.
  virtual Status add_port(const PortConfig& config, std::string_view peer) = 0;
  virtual Status remove_port(std::string_view name) = 0;
  virtual std::vector<DiskView> disks() const = 0;
  virtual std::optional<DiskView> disk(std::string_view name) const = 0;
  // The config has passed validate_disk(); the image is opened and checked by the target.
  virtual Status add_disk(const DiskConfig& config) = 0;
  // Disconnects the disk's frontend after its requests in flight complete, and closes it.
  virtual Status remove_disk(std::string_view name) = 0;
  virtual std::vector<WorkerView> workers() const = 0;
  virtual Status move_queue(std::string_view port, uint16_t queue_pair, unsigned worker) = 0;
  // Balances queues over workers by measured cycles; returns how many queues moved.
  virtual Result<unsigned> rebalance() = 0;
  // Starts every queue's longest gap between bursts (QueueView::max_gap_us) again.
  virtual void reset_gaps() = 0;
  virtual std::vector<FdbEntry> fdb() const = 0;
  // Forgets the learned stations of `port` ("" = all); returns how many were forgotten.
  virtual Result<size_t> flush_fdb(std::string_view port) = 0;
};

}  // namespace ringlane::control
