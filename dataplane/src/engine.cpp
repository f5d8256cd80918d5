#include "ringlane/dataplane/engine.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <numeric>

#include "ringlane/base/log.h"
#include "ringlane/base/tsc_clock.h"

namespace ringlane::dataplane {

Engine::Engine(EngineConfig config)
    : config_(std::move(config)),
      macs_(config_.mac_table_buckets,
            static_cast<uint64_t>(config_.mac_aging_seconds * static_cast<double>(tsc_hz()))),
      placement_count_(config_.cores.empty() ? 1 : config_.cores.size(), 0) {
  publish();
}

Engine::~Engine() {
  stop();
  view_.store(nullptr);
}

unsigned Engine::least_loaded_worker() const {
  return static_cast<unsigned>(std::min_element(placement_count_.begin(), placement_count_.end()) -
                               placement_count_.begin());
}

uint16_t Engine::add_port(std::unique_ptr<Port> port, PortVlans vlans) {
  // Reuse the lowest free index: port numbers are 16 bits, and a daemon that adds and removes
  // ports for months must not run out. The old port's addresses were flushed when it went.
  uint16_t index = next_port_index();
  if (index == ports_.size()) {
    ports_.emplace_back();
    vlans_.emplace_back();
    peer_.push_back(-1);
    placement_.emplace_back();
    loads_.emplace_back();
    balanced_cycles_.emplace_back();
  }
  uint16_t pairs = port->queue_pairs();
  std::vector<unsigned> placed;
  for (uint16_t qp = 0; qp < pairs; ++qp) {
    unsigned w = least_loaded_worker();
    placed.push_back(w);
    ++placement_count_[w];
  }
  ports_[index] = std::move(port);
  vlans_[index] = vlans;
  peer_[index] = -1;
  placement_[index] = std::move(placed);
  loads_[index] = std::make_unique<QueueLoad[]>(pairs);
  balanced_cycles_[index].assign(pairs, 0);
  // A port added at runtime that steers learned addresses to itself needs those learned so far.
  if (ports_[index]->wants_addresses()) addresses_.welcome(*ports_[index]);
  publish();
  return index;
}

Status Engine::remove_port(uint16_t index) {
  if (index >= ports_.size() || ports_[index] == nullptr) {
    return Error(ENOENT, "no port with index " + std::to_string(index));
  }
  if (int peer = peer_[index]; peer >= 0) peer_[peer] = -1;
  peer_[index] = -1;
  for (unsigned w : placement_[index]) --placement_count_[w];
  placement_[index].clear();
  // Out of the view first: after the grace period no worker polls it, sends to it or holds its
  // load figures.
  std::unique_ptr<Port> going = std::move(ports_[index]);
  std::unique_ptr<QueueLoad[]> loads = std::move(loads_[index]);
  vlans_[index] = {};
  publish();
  // Learning needs the port in the view, so nothing learns it again; an uplink's steering map
  // forgets the addresses at the next tick.
  macs_.flush_port(index);
  going.reset();
  return {};
}

Result<uint16_t> Engine::add_disk(std::unique_ptr<VhostBlkDisk> disk) {
  uint16_t index = next_disk_index();
  if (index >= kMaxDisks) {
    return Error(EINVAL, "ringlane serves " + std::to_string(kMaxDisks) + " disks already");
  }
  if (!workers_.empty()) {
    if (rings_.empty()) return Error(EINVAL, "disks cannot be added now: " + no_rings_);
    // Every ring knows the image before any worker is given a queue that names it.
    const int files[2] = {disk->image().fd(), disk->image().buffered_fd()};
    for (size_t i = 0; i < rings_.size(); ++i) {
      if (Status s = rings_[i]->update_files(2 * index, files); !s.ok()) {
        const int none[2] = {-1, -1};
        for (size_t j = 0; j < i; ++j) (void)rings_[j]->update_files(2 * index, none);
        return s.error();
      }
    }
  }
  std::vector<unsigned> placed;
  for (uint16_t q = 0; q < disk->device().queue_count(); ++q) {
    unsigned w = least_loaded_worker();
    placed.push_back(w);
    ++placement_count_[w];
  }
  if (index == disks_.size()) {
    disks_.emplace_back();
    disk_placement_.emplace_back();
  }
  disks_[index] = std::move(disk);
  disk_placement_[index] = std::move(placed);
  publish();
  return index;
}

Status Engine::remove_disk(uint16_t index) {
  if (index >= disks_.size() || disks_[index] == nullptr) {
    return Error(ENOENT, "no disk with index " + std::to_string(index));
  }
  // The frontend first, while the workers still serve the queues: stopping them waits for the
  // requests in flight, whose completions only the serving worker reaps.
  disks_[index]->close("disk removed");
  std::unique_ptr<VhostBlkDisk> going = std::move(disks_[index]);
  for (unsigned w : disk_placement_[index]) --placement_count_[w];
  disk_placement_[index].clear();
  publish();
  // No worker holds the queues now, and nothing is in flight on the image: its slots may go.
  const int none[2] = {-1, -1};
  for (blk::IoRing* ring : rings_) {
    if (Status s = ring->update_files(2 * index, none); !s.ok()) {
      log_line(LogLevel::warn,
               going->name() + ": fixed files not released: " + s.error().message());
    }
  }
  going.reset();
  return {};
}

uint16_t Engine::next_disk_index() const {
  return static_cast<uint16_t>(std::find(disks_.begin(), disks_.end(), nullptr) - disks_.begin());
}

std::optional<uint16_t> Engine::find_disk(std::string_view name) const {
  for (size_t i = 0; i < disks_.size(); ++i) {
    if (disks_[i] != nullptr && disks_[i]->name() == name) return static_cast<uint16_t>(i);
  }
  return std::nullopt;
}

size_t Engine::disk_count() const {
  return static_cast<size_t>(
      std::count_if(disks_.begin(), disks_.end(), [](const auto& d) { return d != nullptr; }));
}

size_t Engine::disk_queues_of(unsigned worker) const {
  size_t n = 0;
  for (const auto& d : disk_placement_) n += std::count(d.begin(), d.end(), worker);
  return n;
}

std::optional<uint16_t> Engine::find_port(std::string_view name) const {
  for (size_t i = 0; i < ports_.size(); ++i) {
    if (ports_[i] != nullptr && ports_[i]->name() == name) return static_cast<uint16_t>(i);
  }
  return std::nullopt;
}

uint16_t Engine::next_port_index() const {
  return static_cast<uint16_t>(std::find(ports_.begin(), ports_.end(), nullptr) - ports_.begin());
}

size_t Engine::port_count() const {
  return static_cast<size_t>(
      std::count_if(ports_.begin(), ports_.end(), [](const auto& p) { return p != nullptr; }));
}

Status Engine::connect(uint16_t a, uint16_t b) {
  if (a >= ports_.size() || b >= ports_.size() || a == b || !ports_[a] || !ports_[b]) {
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

void Engine::publish(const std::vector<Move>& moving) {
  auto view = std::make_unique<SwitchView>();
  view->mode = config_.mode;
  view->macs = &macs_;
  view->peer = peer_;
  view->gap_epoch = gap_epoch_;
  // Only a switch with VLANs pays for classifying frames.
  if (std::any_of(vlans_.begin(), vlans_.end(),
                  [](const PortVlans& v) { return v.mode != PortVlans::Mode::none; })) {
    view->vlans = vlans_;
  }
  size_t nworkers = placement_count_.size();
  view->polls.resize(nworkers);
  for (size_t p = 0; p < ports_.size(); ++p) {
    view->ports.push_back(ports_[p].get());
    if (ports_[p] == nullptr) continue;
    // Queue pairs per port fit 16 bits (the port says how many it has).
    auto pairs = static_cast<uint16_t>(placement_[p].size());
    for (uint16_t qp = 0; qp < pairs; ++qp) {
      auto port = static_cast<uint16_t>(p);
      auto move = std::find_if(moving.begin(), moving.end(),
                               [&](const Move& m) { return m.port == port && m.queue_pair == qp; });
      if (move == moving.end()) {
        view->polls[placement_[p][qp]].push_back({port, qp, &loads_[p][qp], nullptr});
        continue;
      }
      QueueHandoff* handoff = move->handoff.get();
      if (move->stage != Move::Stage::new_locked) {
        view->polls[handoff->from].push_back({port, qp, &loads_[p][qp], handoff});
      }
      if (move->stage != Move::Stage::old_locked) {
        view->polls[handoff->to].push_back({port, qp, &loads_[p][qp], handoff});
      }
    }
    // With more workers than queue pairs, a queue pair can receive from several workers.
    ports_[p]->set_shared_transmit(nworkers > 1);
  }
  view->disk_polls.resize(nworkers);
  for (size_t d = 0; d < disks_.size(); ++d) {
    if (disks_[d] == nullptr) continue;
    auto queues = static_cast<uint16_t>(disk_placement_[d].size());
    for (uint16_t q = 0; q < queues; ++q) {
      view->disk_polls[disk_placement_[d][q]].push_back(&disks_[d]->device().disk_queue(q));
    }
  }
  view_.store(view.get(), std::memory_order_release);
  grace_.synchronize();
  current_ = std::move(view);
}

Status Engine::move_queue(uint16_t port, uint16_t queue_pair, unsigned worker) {
  if (port >= ports_.size() || ports_[port] == nullptr) {
    return Error(ENOENT, "no port with index " + std::to_string(port));
  }
  if (queue_pair >= placement_[port].size()) {
    return Error(ENOENT, "port '" + ports_[port]->name() + "' has no queue pair " +
                             std::to_string(queue_pair) + " (it has " +
                             std::to_string(placement_[port].size()) + ")");
  }
  if (worker >= placement_count_.size()) {
    return Error(EINVAL, "no worker " + std::to_string(worker) + " (there are " +
                             std::to_string(placement_count_.size()) + ")");
  }
  if (placement_[port][queue_pair] != worker) move_queues({{port, queue_pair, worker}});
  return {};
}

void Engine::move_queues(const std::vector<std::tuple<uint16_t, uint16_t, unsigned>>& moves) {
  if (moves.empty()) return;
  std::vector<Move> moving;
  moving.reserve(moves.size());
  for (const auto& [port, qp, worker] : moves) {
    moving.push_back({port, qp, std::make_unique<QueueHandoff>(placement_[port][qp], worker),
                      Move::Stage::old_locked});
  }
  // QueueHandoff's four views; each publish waits for the grace period, after which no worker
  // uses the view before it.
  for (Move::Stage stage :
       {Move::Stage::old_locked, Move::Stage::both_locked, Move::Stage::new_locked}) {
    for (Move& m : moving) m.stage = stage;
    publish(moving);
  }
  for (const auto& [port, qp, worker] : moves) {
    --placement_count_[placement_[port][qp]];
    placement_[port][qp] = worker;
    ++placement_count_[worker];
  }
  // The handoffs stay alive until this view replaced the last that names them.
  publish();
}

unsigned Engine::rebalance() {
  struct Item {
    uint16_t port, qp;
    uint64_t cycles;
  };
  std::vector<Item> items;
  size_t nworkers = placement_count_.size();
  std::vector<uint64_t> before(nworkers, 0);
  for (size_t p = 0; p < ports_.size(); ++p) {
    if (ports_[p] == nullptr) continue;
    auto pairs = static_cast<uint16_t>(placement_[p].size());
    for (uint16_t qp = 0; qp < pairs; ++qp) {
      uint64_t now = loads_[p][qp].busy_cycles.get();
      uint64_t cycles = now - balanced_cycles_[p][qp];
      balanced_cycles_[p][qp] = now;
      items.push_back({static_cast<uint16_t>(p), qp, cycles});
      before[placement_[p][qp]] += cycles;
    }
  }
  // Disk queues stay where they are; they count as one unit of load each so that a worker
  // busy with disks is not also given the heaviest net queue when all else is equal.
  std::vector<uint64_t> after(nworkers, 0);
  std::vector<size_t> count(nworkers, 0);
  for (unsigned w = 0; w < nworkers; ++w) count[w] = disk_queues_of(w);
  std::stable_sort(items.begin(), items.end(),
                   [](const Item& a, const Item& b) { return a.cycles > b.cycles; });
  std::vector<std::tuple<uint16_t, uint16_t, unsigned>> moves;
  std::vector<unsigned> chosen;
  for (const Item& it : items) {
    // The least loaded worker; among equals the queue's own (no needless move), then the one
    // with the fewest queues.
    unsigned current = placement_[it.port][it.qp];
    auto better = [&](unsigned a, unsigned b) {
      if (after[a] != after[b]) return after[a] < after[b];
      if ((a == current) != (b == current)) return a == current;
      return count[a] < count[b];
    };
    unsigned best = 0;
    for (unsigned w = 1; w < nworkers; ++w) {
      if (better(w, best)) best = w;
    }
    after[best] += it.cycles;
    ++count[best];
    chosen.push_back(best);
  }
  uint64_t busiest_before = *std::max_element(before.begin(), before.end());
  uint64_t busiest_after = *std::max_element(after.begin(), after.end());
  if (busiest_before == 0 || busiest_after * 100 >= busiest_before * 95) return 0;
  for (size_t i = 0; i < items.size(); ++i) {
    if (chosen[i] != placement_[items[i].port][items[i].qp]) {
      moves.emplace_back(items[i].port, items[i].qp, chosen[i]);
    }
  }
  move_queues(moves);
  return static_cast<unsigned>(moves.size());
}

void Engine::reset_gaps() {
  ++gap_epoch_;
  publish();
}

Result<std::unique_ptr<blk::IoRing>> Engine::make_ring() const {
  RINGLANE_ASSIGN_OR_RETURN(auto ring, blk::IoRing::create(kRingEntries));
  RINGLANE_TRY(ring->register_file_slots(2 * kMaxDisks));
  // The disks added before start, at the slots they were given.
  for (size_t d = 0; d < disks_.size(); ++d) {
    if (disks_[d] == nullptr) continue;
    const int files[2] = {disks_[d]->image().fd(), disks_[d]->image().buffered_fd()};
    RINGLANE_TRY(ring->update_files(static_cast<unsigned>(2 * d), files));
  }
  return ring;
}

Status Engine::start() {
  if (!workers_.empty()) return {};
  auto idle_cycles =
      static_cast<uint64_t>(config_.idle_sleep_us * 1e-6 * static_cast<double>(tsc_hz()));
  std::vector<std::unique_ptr<blk::IoRing>> rings;
  if (!disks_.empty() || config_.disks_at_runtime) {
    for (size_t i = 0; i < config_.cores.size(); ++i) {
      Result<std::unique_ptr<blk::IoRing>> ring = make_ring();
      if (!ring.ok()) {
        if (!disks_.empty()) return ring.error();
        // No disk needs one yet: the switch runs, and a disk added later is refused with why.
        log_line(LogLevel::warn,
                 "no io_uring for the workers, so no disk can be added: " + ring.error().message());
        no_rings_ = ring.error().message();
        rings.clear();
        break;
      }
      rings.push_back(std::move(*ring));
    }
  } else {
    no_rings_ = "the daemon started with no disk and no API socket";
  }
  std::vector<blk::IoRing*> ring_of;
  ring_of.reserve(rings.size());
  for (const auto& ring : rings) ring_of.push_back(ring.get());
  std::vector<std::unique_ptr<Worker>> workers;
  for (size_t i = 0; i < config_.cores.size(); ++i) {
    RINGLANE_ASSIGN_OR_RETURN(
        auto worker, Worker::create(static_cast<unsigned>(i), config_.cores[i], view_, grace_,
                                    rings.empty() ? nullptr : std::move(rings[i]), idle_cycles));
    workers.push_back(std::move(worker));
  }
  workers_ = std::move(workers);
  rings_ = std::move(ring_of);
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
