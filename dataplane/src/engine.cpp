#include "ringlane/dataplane/engine.h"

#include <algorithm>

#include "ringlane/base/tsc_clock.h"

namespace ringlane::dataplane {

Engine::Engine(EngineConfig config)
    : config_(std::move(config)),
      macs_(config_.mac_table_buckets,
            static_cast<uint64_t>(config_.mac_aging_seconds * static_cast<double>(tsc_hz()))) {
  publish();
}

Engine::~Engine() {
  stop();
  view_.store(nullptr);
}

uint16_t Engine::add_port(std::unique_ptr<Port> port, PortVlans vlans) {
  ports_.push_back(std::move(port));
  vlans_.push_back(vlans);
  peer_.push_back(-1);
  publish();
  return static_cast<uint16_t>(ports_.size() - 1);
}

uint16_t Engine::add_disk(std::unique_ptr<VhostBlkDisk> disk) {
  disks_.push_back(std::move(disk));
  publish();
  return static_cast<uint16_t>(disks_.size() - 1);
}

Status Engine::connect(uint16_t a, uint16_t b) {
  if (a >= ports_.size() || b >= ports_.size() || a == b) {
    return Error(EINVAL, "cross-connect needs two different existing ports");
  }
  if (peer_[a] >= 0 || peer_[b] >= 0) {
    return Error(EBUSY,
                 "port '" + ports_[peer_[a] >= 0 ? a : b]->name() + "' is already cross-connected");
  }
  peer_[a] = b;
  peer_[b] = a;
  publish();
  return {};
}

void Engine::publish() {
  auto view = std::make_unique<SwitchView>();
  view->mode = config_.mode;
  view->macs = &macs_;
  view->peer = peer_;
  // Only a switch with VLANs pays for classifying frames.
  if (std::any_of(vlans_.begin(), vlans_.end(),
                  [](const PortVlans& v) { return v.mode != PortVlans::Mode::none; })) {
    view->vlans = vlans_;
  }
  size_t nworkers = config_.cores.empty() ? 1 : config_.cores.size();
  view->polls.resize(nworkers);
  size_t next = 0;
  for (size_t p = 0; p < ports_.size(); ++p) {
    view->ports.push_back(ports_[p].get());
    for (uint16_t qp = 0; qp < ports_[p]->queue_pairs(); ++qp) {
      view->polls[next++ % nworkers].push_back({static_cast<uint16_t>(p), qp});
    }
    // With more workers than queue pairs, a queue pair can receive from several workers.
    ports_[p]->set_shared_transmit(nworkers > 1);
  }
  // Disk queues continue the round-robin where the ports' queue pairs left off, so that a
  // worker with fewer net queues takes the next disk queue.
  view->disk_polls.resize(nworkers);
  for (auto& disk : disks_) {
    for (uint16_t q = 0; q < disk->device().queue_count(); ++q) {
      view->disk_polls[next++ % nworkers].push_back(&disk->device().disk_queue(q));
    }
  }
  view_.store(view.get(), std::memory_order_release);
  grace_.synchronize();
  current_ = std::move(view);
}

Status Engine::start() {
  if (!workers_.empty()) return {};
  // Every worker's ring knows every image, at the indices the disks were given.
  std::vector<int> files;
  for (const auto& disk : disks_) {
    files.push_back(disk->image().fd());
    files.push_back(disk->image().buffered_fd());
  }
  auto idle_cycles =
      static_cast<uint64_t>(config_.idle_sleep_us * 1e-6 * static_cast<double>(tsc_hz()));
  std::vector<std::unique_ptr<Worker>> workers;
  for (size_t i = 0; i < config_.cores.size(); ++i) {
    std::unique_ptr<blk::IoRing> ring;
    if (!disks_.empty()) {
      RINGLANE_ASSIGN_OR_RETURN(ring, blk::IoRing::create(kRingEntries));
      RINGLANE_TRY(ring->register_files(files));
    }
    workers.push_back(std::make_unique<Worker>(static_cast<unsigned>(i), config_.cores[i], view_,
                                               grace_, std::move(ring), idle_cycles));
  }
  workers_ = std::move(workers);
  for (auto& w : workers_) w->start(config_.worker_init);
  return {};
}

void Engine::tick() {
  if (config_.mode != ForwardingMode::l2_switch) return;
  std::vector<Port*> ports;
  ports.reserve(ports_.size());
  for (auto& p : ports_) ports.push_back(p.get());
  addresses_.update(macs_, read_tsc(), ports);
}

void Engine::stop() {
  for (auto& w : workers_) w->stop();
}

}  // namespace ringlane::dataplane
