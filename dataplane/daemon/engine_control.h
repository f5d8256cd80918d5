// EngineControl: the running daemon as the API sees it (control::ControlTarget over the Engine).
// Runs on the control thread, like everything that changes the engine: a request is served
// between two turns of the event loop, and a change reaches the workers as a new switch view.
// Every check is made before anything changes, so a refused request leaves the daemon as it was.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "ringlane/control/control_target.h"
#include "ringlane/control/daemon_config.h"
#include "ringlane/dataplane/engine.h"
#include "ringlane/dataplane/port_factory.h"

namespace ringlane::dataplane {

class EngineControl final : public control::ControlTarget {
 public:
  // `config` is the configuration the daemon started with; its ports and disks join as
  // add_configured_port() and add_configured_disk() add them, and those added and removed
  // through the API are kept in it too, so later checks see them.
  EngineControl(Engine& engine, PortContext context, control::DaemonConfig config,
                std::string idle_text);

  control::DaemonInfo info() const override;
  std::vector<control::PortView> ports() const override;
  std::optional<control::PortView> port(std::string_view name) const override;
  Status add_port(const control::PortConfig& config, std::string_view peer) override;
  Status remove_port(std::string_view name) override;
  std::vector<control::DiskView> disks() const override;
  std::optional<control::DiskView> disk(std::string_view name) const override;
  Status add_disk(const control::DiskConfig& config) override;
  Status remove_disk(std::string_view name) override;
  std::vector<control::WorkerView> workers() const override;
  Status move_queue(std::string_view port, uint16_t queue_pair, unsigned worker) override;
  Result<unsigned> rebalance() override;
  void reset_gaps() override { engine_.reset_gaps(); }
  std::vector<control::FdbEntry> fdb() const override;
  Result<size_t> flush_fdb(std::string_view port) override;

  // Adds a port of the start-up configuration (already validated as a whole).
  Result<uint16_t> add_configured_port(const control::PortConfig& config);
  // Adds a disk of the start-up configuration, its image already opened and checked.
  Result<uint16_t> add_configured_disk(const control::DiskConfig& config, blk::DiskImage image);
  // Every tick: rebalances when the interval (seconds, 0 = never) has passed.
  void tick(std::chrono::steady_clock::time_point now, double rebalance_interval);

 private:
  control::PortView view_of(uint16_t index) const;
  control::DiskView disk_view_of(uint16_t index) const;
  // A name no port or disk has, a socket no port or disk uses, an image no disk serves.
  Status check_new_disk(const control::DiskConfig& config) const;
  // The checks that need the running configuration: mode, unique names, paths and interfaces.
  Status check_new_port(const control::PortConfig& config, std::string_view peer) const;
  const control::PortConfig* config_of(std::string_view name) const;

  Engine& engine_;
  PortContext context_;
  control::DaemonConfig config_;
  std::string idle_text_;
  bool has_dpdk_ = false;  // workers are DPDK lcores only when a dpdk port was there at start
  std::chrono::system_clock::time_point started_ = std::chrono::system_clock::now();
  std::chrono::steady_clock::time_point last_rebalance_ = std::chrono::steady_clock::now();
};

}  // namespace ringlane::dataplane
