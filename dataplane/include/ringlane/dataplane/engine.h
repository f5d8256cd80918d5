// Engine: the ports, the workers, and the switch view they share. Only the control thread calls
// it; every change is published as a new SwitchView and the old one is retired after a grace
// period.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "ringlane/base/quiescent_state.h"
#include "ringlane/base/result.h"
#include "ringlane/dataplane/address_feed.h"
#include "ringlane/dataplane/forwarding.h"
#include "ringlane/dataplane/mac_table.h"
#include "ringlane/dataplane/port.h"
#include "ringlane/dataplane/vhost_blk_disk.h"
#include "ringlane/dataplane/worker.h"

namespace ringlane::dataplane {

struct EngineConfig {
  std::vector<int> cores{1};
  ForwardingMode mode = ForwardingMode::cross_connect;
  double mac_aging_seconds = 300;
  uint32_t mac_table_buckets = 4096;
  double idle_sleep_us = 0;  // see Worker: 0 = disk-only workers busy-poll too
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

  // Adds a port with the VLANs it carries; returns its index. Its queue pairs are spread over the
  // workers.
  uint16_t add_port(std::unique_ptr<Port> port, PortVlans vlans = {});
  // Adds a disk before start(); its queues are spread over the workers after the ports'. The
  // disk's image is registered with every worker's ring at fixed_file_for(its index).
  uint16_t add_disk(std::unique_ptr<VhostBlkDisk> disk);
  // The first fixed-file index of the next disk added.
  int next_fixed_file() const { return static_cast<int>(2 * disks_.size()); }
  // Cross-connects two ports both ways.
  Status connect(uint16_t a, uint16_t b);
  Status start();
  void stop();
  // Control thread, every tick: tells the ports that want them the addresses learned and aged.
  void tick();

  const std::vector<std::unique_ptr<Port>>& ports() const { return ports_; }
  const std::vector<std::unique_ptr<VhostBlkDisk>>& disks() const { return disks_; }
  const std::vector<std::unique_ptr<Worker>>& workers() const { return workers_; }
  const MacTable& macs() const { return macs_; }

 private:
  void publish();
  // Each worker's io_uring submission entries (twice as many completion entries).
  static constexpr unsigned kRingEntries = 512;

  EngineConfig config_;
  QuiescentState grace_;
  MacTable macs_;
  std::vector<std::unique_ptr<Port>> ports_;
  std::vector<std::unique_ptr<VhostBlkDisk>> disks_;
  std::vector<PortVlans> vlans_;  // by port index
  std::vector<int> peer_;
  AddressFeed addresses_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<const SwitchView*> view_{nullptr};
  std::unique_ptr<const SwitchView> current_;
};

}  // namespace ringlane::dataplane
