// Engine: the ports, the workers, and the switch view they share. Only the control thread calls
// it; every change is published as a new SwitchView and the old one is retired after a grace
// period, so workers never stop for a change: ports come and go and queues move between workers
// while the others forward.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "ringlane/base/quiescent_state.h"
#include "ringlane/base/result.h"
#include "ringlane/dataplane/address_feed.h"
#include "ringlane/dataplane/forwarding.h"
#include "ringlane/dataplane/mac_table.h"
#include "ringlane/dataplane/port.h"
#include "ringlane/dataplane/queue_load.h"
#include "ringlane/dataplane/vhost_blk_disk.h"
#include "ringlane/dataplane/worker.h"

namespace ringlane::dataplane {

struct EngineConfig {
  std::vector<int> cores{1};
  ForwardingMode mode = ForwardingMode::cross_connect;
  double mac_aging_seconds = 300;
  uint32_t mac_table_buckets = 4096;
  // --idle: 0 = busy-poll for ever; otherwise a worker whose queues have been empty this long
  // sleeps on their kicks (see Worker).
  double idle_sleep_us = 0;
  // Workers get an io_uring even with no disk at start, so that disks can be added later.
  bool disks_at_runtime = false;
  // Runs on each worker's thread before it polls: uplinks whose library keeps per-thread state
  // (DPDK's lcore, for its mempool caches) register the thread here.
  std::function<void()> worker_init;
};

class Engine {
 public:
  explicit Engine(EngineConfig config);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  QuiescentState& grace() { return grace_; }
  const EngineConfig& config() const { return config_; }

  // Adds a port with the VLANs it carries, before or after start(); returns its index (the
  // lowest a removed port left free). Each queue pair goes to the worker with the fewest.
  uint16_t add_port(std::unique_ptr<Port> port, PortVlans vlans = {});
  // Stops polling and sending to the port, waits a grace period, forgets its addresses and
  // destroys it (a VM's frontend is disconnected, its memory unmapped). Its cross-connect peer is
  // left without one.
  Status remove_port(uint16_t index);
  // Disks served at once, at most (each takes two fixed-file slots of every worker's ring).
  static constexpr size_t kMaxDisks = 256;
  // Adds a disk built for next_fixed_file(), before or after start(); returns its index (the
  // lowest a removed disk left free). Its image's descriptors go into every worker's ring at
  // those slots; its queues go to the least loaded workers and stay there for the disk's life.
  Result<uint16_t> add_disk(std::unique_ptr<VhostBlkDisk> disk);
  // Disconnects the disk's frontend (its requests in flight complete first), stops serving it,
  // empties its fixed-file slots and destroys it (its socket file removed, its image closed).
  Status remove_disk(uint16_t index);
  // The first fixed-file index of the next disk added.
  int next_fixed_file() const { return 2 * static_cast<int>(next_disk_index()); }
  uint16_t next_disk_index() const;
  std::optional<uint16_t> find_disk(std::string_view name) const;
  size_t disk_count() const;
  // The worker serving a disk's queue.
  unsigned worker_of_disk(uint16_t disk, uint16_t queue) const {
    return disk_placement_[disk][queue];
  }
  // Cross-connects two ports both ways.
  Status connect(uint16_t a, uint16_t b);
  Status start();
  void stop();
  // Control thread, every tick: tells the ports that want them the addresses learned and aged.
  void tick();

  // Moves a queue pair's polling to another worker: for a few grace periods both poll it under a
  // try-lock, so whichever is on its cpu serves it (QueueHandoff); never do two poll it at once.
  Status move_queue(uint16_t port, uint16_t queue_pair, unsigned worker);
  // Spreads the queue pairs over the workers by the cycles each cost since the last rebalance
  // (heaviest first, each to the least loaded worker), when that lowers the busiest worker's load
  // by more than 5%. Returns the number of queue pairs moved.
  unsigned rebalance();
  // Starts measuring every queue's longest gap between bursts again.
  void reset_gaps();

  // Ports by index; null where a port was removed.
  const std::vector<std::unique_ptr<Port>>& ports() const { return ports_; }
  std::optional<uint16_t> find_port(std::string_view name) const;
  // The index the next add_port will give.
  uint16_t next_port_index() const;
  size_t port_count() const;
  // Disks by index; null where a disk was removed.
  const std::vector<std::unique_ptr<VhostBlkDisk>>& disks() const { return disks_; }
  const std::vector<std::unique_ptr<Worker>>& workers() const { return workers_; }
  size_t worker_count() const { return placement_count_.size(); }
  const MacTable& macs() const { return macs_; }
  MacTable& macs() { return macs_; }
  // The worker polling a port's queue pair.
  unsigned worker_of(uint16_t port, uint16_t queue_pair) const {
    return placement_[port][queue_pair];
  }
  const QueueLoad& load(uint16_t port, uint16_t queue_pair) const {
    return loads_[port][queue_pair];
  }
  int peer_of(uint16_t port) const { return peer_[port]; }
  const PortVlans& vlans_of(uint16_t port) const { return vlans_[port]; }
  // Disk queues a worker serves.
  size_t disk_queues_of(unsigned worker) const;

 private:
  // A queue pair on its way to another worker, and which of the two lists it (QueueHandoff).
  struct Move {
    enum class Stage { old_locked, both_locked, new_locked };
    uint16_t port;
    uint16_t queue_pair;
    std::unique_ptr<QueueHandoff> handoff;
    Stage stage;
  };
  // Publishes the view the tables describe, with the queue pairs in `moving` in the lists of
  // their stage, and waits for the grace period.
  void publish(const std::vector<Move>& moving = {});
  unsigned least_loaded_worker() const;
  // A worker's io_uring with a fixed-file slot pair for every disk there may be, those of the
  // disks added so far filled in.
  Result<std::unique_ptr<blk::IoRing>> make_ring() const;
  // Moves the queue pairs to the workers given (port, queue pair, worker).
  void move_queues(const std::vector<std::tuple<uint16_t, uint16_t, unsigned>>& moves);
  // Each worker's io_uring submission entries (twice as many completion entries).
  static constexpr unsigned kRingEntries = 512;

  EngineConfig config_;
  QuiescentState grace_;
  MacTable macs_;
  std::vector<std::unique_ptr<Port>> ports_;
  std::vector<std::unique_ptr<VhostBlkDisk>> disks_;
  std::vector<PortVlans> vlans_;  // by port index
  std::vector<int> peer_;
  // By port index, by queue pair: the worker that polls it, and what polling it costs.
  std::vector<std::vector<unsigned>> placement_;
  std::vector<std::unique_ptr<QueueLoad[]>> loads_;
  // By port index, by queue pair: busy cycles at the last rebalance.
  std::vector<std::vector<uint64_t>> balanced_cycles_;
  // By disk, by queue: the worker serving it.
  std::vector<std::vector<unsigned>> disk_placement_;
  std::vector<size_t> placement_count_;  // queues (net and disk) per worker
  uint64_t gap_epoch_ = 1;
  AddressFeed addresses_;
  std::vector<std::unique_ptr<Worker>> workers_;
  // Each worker's ring (the workers own them), for disks added at runtime; empty when the
  // workers have none, and then why.
  std::vector<blk::IoRing*> rings_;
  std::string no_rings_;
  std::atomic<const SwitchView*> view_{nullptr};
  std::unique_ptr<const SwitchView> current_;
};

}  // namespace ringlane::dataplane
