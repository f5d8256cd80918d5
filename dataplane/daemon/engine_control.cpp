#include "engine_control.h"

#include <algorithm>
#include <filesystem>

#include "ringlane/base/log.h"
#include "ringlane/base/tsc_clock.h"
#include "ringlane/dataplane/vhost_net_port.h"

#ifndef RINGLANE_VERSION
#define RINGLANE_VERSION "unknown"
#endif

namespace ringlane::dataplane {

namespace {

std::string vlans_text(const control::PortConfig& c) {
  if (c.access_vlan != 0) return "access " + std::to_string(c.access_vlan);
  if (c.trunk_vlans.empty()) return "";
  std::string s = "trunk ";
  for (size_t i = 0; i < c.trunk_vlans.size(); ++i) {
    if (i > 0) s += "+";
    s += std::to_string(c.trunk_vlans[i]);
  }
  return s;
}

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> words;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find(' ', at);
    if (end == std::string::npos) end = text.size();
    if (end > at) words.push_back(text.substr(at, end - at));
    at = end + 1;
  }
  return words;
}

double seconds_of(uint64_t ticks) {
  return static_cast<double>(ticks) / static_cast<double>(tsc_hz());
}

}  // namespace

EngineControl::EngineControl(Engine& engine, PortContext context, control::DaemonConfig config,
                             std::string idle_text)
    : engine_(engine),
      context_(std::move(context)),
      config_(std::move(config)),
      idle_text_(std::move(idle_text)) {
  has_dpdk_ = std::any_of(config_.ports.begin(), config_.ports.end(),
                          [](const auto& p) { return p.kind == control::PortKind::dpdk; });
  config_.ports.clear();  // filled again as the ports and disks are added
  config_.disks.clear();
}

const control::PortConfig* EngineControl::config_of(std::string_view name) const {
  for (const auto& p : config_.ports) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

Result<uint16_t> EngineControl::add_configured_port(const control::PortConfig& config) {
  context_.port_index = engine_.next_port_index();
  RINGLANE_ASSIGN_OR_RETURN(auto port, make_port(config, context_));
  uint16_t index =
      engine_.add_port(std::move(port), PortVlans::from(config.access_vlan, config.trunk_vlans));
  config_.ports.push_back(config);
  return index;
}

Status EngineControl::check_new_port(const control::PortConfig& c, std::string_view peer) const {
  // Names are shared by ports and disks: one namespace for everything the API names.
  if (config_of(c.name) != nullptr) return Error(EEXIST, "port '" + c.name + "' already exists");
  for (const auto& d : config_.disks) {
    if (d.name == c.name) return Error(EEXIST, "'" + c.name + "' is already a disk's name");
  }
  auto same_socket = [&](const std::string& path) {
    return c.kind == control::PortKind::vhost && !path.empty() && path == c.socket_path;
  };
  for (const auto& p : config_.ports) {
    if (p.kind == control::PortKind::vhost && same_socket(p.socket_path)) {
      return Error(EADDRINUSE,
                   "socket " + c.socket_path + " is already used by port '" + p.name + "'");
    }
    bool on_interface = c.kind == control::PortKind::afxdp || c.kind == control::PortKind::tap;
    if (on_interface && p.kind == c.kind && p.ifname == c.ifname) {
      return Error(EADDRINUSE,
                   "interface " + c.ifname + " is already used by port '" + p.name + "'");
    }
  }
  for (const auto& d : config_.disks) {
    if (same_socket(d.socket_path)) {
      return Error(EADDRINUSE,
                   "socket " + c.socket_path + " is already used by disk '" + d.name + "'");
    }
  }
  if ((c.access_vlan != 0 || !c.trunk_vlans.empty()) && config_.mode != "l2") {
    return Error(EINVAL, "port '" + c.name + "': VLANs need --mode l2");
  }
  if (c.kind == control::PortKind::dpdk && !has_dpdk_) {
    return Error(EINVAL, "port '" + c.name +
                             "': a dpdk port can be added at runtime only to a daemon that "
                             "started with one (its workers must be DPDK threads)");
  }
  if (engine_.port_count() >= control::kMaxPorts) {
    return Error(EINVAL, "the switch has " + std::to_string(control::kMaxPorts) + " ports already");
  }
  if (!peer.empty()) {
    if (config_.mode != "xconnect") return Error(EINVAL, "peer is for --mode xconnect only");
    auto other = engine_.find_port(peer);
    if (!other) return Error(ENOENT, "no port named '" + std::string(peer) + "' to connect to");
    if (engine_.peer_of(*other) >= 0) {
      return Error(EBUSY, "port '" + std::string(peer) + "' is already cross-connected");
    }
  }
  return {};
}

Status EngineControl::add_port(const control::PortConfig& config, std::string_view peer) {
  RINGLANE_TRY(check_new_port(config, peer));
  Result<uint16_t> index = add_configured_port(config);
  if (!index.ok()) {
    // A socket another process listens on is a conflict; anything else the port needs of the
    // host (a missing directory, a missing interface) is a bad request.
    int code = index.error().code() == EADDRINUSE ? EADDRINUSE : EINVAL;
    return Error(code, index.error().message());
  }
  if (!peer.empty()) {
    // Checked above: both exist and neither has a peer.
    (void)engine_.connect(*index, *engine_.find_port(peer));
  }
  log_line(LogLevel::info, "port " + config.name + " added through the API" +
                               (peer.empty() ? "" : ", cross-connected with " + std::string(peer)));
  return {};
}

Status EngineControl::remove_port(std::string_view name) {
  auto index = engine_.find_port(name);
  if (!index) return Error(ENOENT, "no port named '" + std::string(name) + "'");
  RINGLANE_TRY(engine_.remove_port(*index));
  std::erase_if(config_.ports, [&](const auto& p) { return p.name == name; });
  log_line(LogLevel::info, "port " + std::string(name) + " removed through the API");
  return {};
}

control::PortView EngineControl::view_of(uint16_t index) const {
  const Port& p = *engine_.ports()[index];
  control::PortView v;
  v.name = p.name();
  v.kind = p.kind();
  v.connected = p.connected();
  v.queue_pairs = p.queue_pairs();
  if (const control::PortConfig* c = config_of(p.name())) v.vlans = vlans_text(*c);
  if (int peer = engine_.peer_of(index); peer >= 0) v.peer = engine_.ports()[peer]->name();
  if (const auto* vhost = dynamic_cast<const VhostNetPort*>(&p)) {
    // Nothing negotiated yet: no features (the names' own "none" is for log lines).
    if (uint64_t acked = vhost->device().acked_features(); acked != 0) {
      v.features = split_words(vhost_user::net_feature_names(acked));
    }
  }
  for (const PortQueueStats& q : p.queue_stats()) {
    control::QueueView qv;
    qv.queue_pair = q.queue_pair;
    qv.worker = q.queue_pair < p.queue_pairs()
                    ? static_cast<int>(engine_.worker_of(index, q.queue_pair))
                    : -1;
    qv.rx_live = q.rx_live;
    qv.tx_live = q.tx_live;
    qv.rx_packets = q.rx_packets;
    qv.rx_bytes = q.rx_bytes;
    qv.tx_packets = q.tx_packets;
    qv.tx_bytes = q.tx_bytes;
    qv.drop_no_buffers = q.tx_drop_no_buffers;
    qv.drop_too_large = q.tx_drop_too_large;
    qv.drop_queue_down = q.tx_drop_queue_down;
    qv.drop_malformed = q.rx_drop_malformed;
    qv.drop_chain = q.rx_drop_chain;
    qv.rx_ring_errors = q.rx_ring_errors;
    qv.tx_ring_errors = q.tx_ring_errors;
    qv.ring_errors = q.rx_ring_errors + q.tx_ring_errors;
    qv.kicks = q.kicks;
    qv.calls = q.notifications;
    qv.rx_occupancy = q.rx_occupancy;
    qv.tx_occupancy = q.tx_occupancy;
    if (q.queue_pair < p.queue_pairs()) {
      const QueueLoad& load = engine_.load(index, q.queue_pair);
      qv.busy_cycles = load.busy_cycles.get();
      qv.polled_packets = load.packets.get();
      qv.max_gap_us = seconds_of(load.max_gap.get()) * 1e6;
    }
    v.queues.push_back(qv);
  }
  v.counters = p.counters();
  return v;
}

std::vector<control::PortView> EngineControl::ports() const {
  std::vector<control::PortView> out;
  for (size_t i = 0; i < engine_.ports().size(); ++i) {
    if (engine_.ports()[i] != nullptr) out.push_back(view_of(static_cast<uint16_t>(i)));
  }
  return out;
}

std::optional<control::PortView> EngineControl::port(std::string_view name) const {
  auto index = engine_.find_port(name);
  if (!index) return std::nullopt;
  return view_of(*index);
}

Result<uint16_t> EngineControl::add_configured_disk(const control::DiskConfig& config,
                                                    blk::DiskImage image) {
  VhostBlkDiskConfig dc;
  dc.name = config.name;
  dc.socket_path = config.socket_path;
  dc.socket_mode = vhost_user::socket_mode_of(config.client_mode);
  dc.queues = config.queues;
  dc.discard = config.discard;
  std::string image_text = config.image_path + " (" + std::to_string(image.size_bytes() >> 20) +
                           " MiB, " + (image.readonly() ? "read-only" : "read-write") + ", " +
                           (image.direct() ? "O_DIRECT" : "buffered") + ")";
  auto disk = std::make_unique<VhostBlkDisk>(dc, std::move(image), engine_.next_fixed_file(),
                                             &engine_.grace(), *context_.loop);
  if (Status s = disk->start(); !s.ok()) {
    return Error(s.error().code(), "disk '" + config.name + "': " + s.error().to_string());
  }
  RINGLANE_ASSIGN_OR_RETURN(uint16_t index, engine_.add_disk(std::move(disk)));
  config_.disks.push_back(config);
  log_line(LogLevel::info, "disk " + config.name + ": vhost-user-blk on " + config.socket_path +
                               " (" + (config.client_mode ? "client" : "server") + ", " +
                               std::to_string(config.queues) + " queues), image " + image_text);
  return index;
}

Status EngineControl::check_new_disk(const control::DiskConfig& c) const {
  if (config_of(c.name) != nullptr) {
    return Error(EEXIST, "'" + c.name + "' is already a port's name");
  }
  // Two disks on one image would each cache and write it without the other knowing.
  std::error_code ec;
  auto canonical = [&](const std::string& path) {
    auto p = std::filesystem::weakly_canonical(path, ec);
    return ec ? std::filesystem::path(path) : p;
  };
  std::filesystem::path image = canonical(c.image_path);
  for (const auto& d : config_.disks) {
    if (d.name == c.name) return Error(EEXIST, "disk '" + c.name + "' already exists");
    if (d.socket_path == c.socket_path) {
      return Error(EADDRINUSE,
                   "socket " + c.socket_path + " is already used by disk '" + d.name + "'");
    }
    if (canonical(d.image_path) == image) {
      return Error(EBUSY, "image " + c.image_path + " is already served by disk '" + d.name + "'");
    }
  }
  for (const auto& p : config_.ports) {
    if (p.kind == control::PortKind::vhost && p.socket_path == c.socket_path) {
      return Error(EADDRINUSE,
                   "socket " + c.socket_path + " is already used by port '" + p.name + "'");
    }
  }
  if (engine_.disk_count() >= Engine::kMaxDisks) {
    return Error(EINVAL, "ringlane serves " + std::to_string(Engine::kMaxDisks) + " disks already");
  }
  return {};
}

Status EngineControl::add_disk(const control::DiskConfig& config) {
  RINGLANE_TRY(check_new_disk(config));
  auto image = blk::DiskImage::open({config.image_path, config.readonly, config.direct});
  if (!image) return Error(EINVAL, "disk '" + config.name + "': " + image.error().message());
  Result<uint16_t> index = add_configured_disk(config, std::move(*image));
  if (!index.ok()) {
    // As for ports: a socket another process listens on is a conflict, the rest bad requests.
    int code = index.error().code() == EADDRINUSE ? EADDRINUSE : EINVAL;
    return Error(code, index.error().message());
  }
  log_line(LogLevel::info, "disk " + config.name + " added through the API");
  return {};
}

Status EngineControl::remove_disk(std::string_view name) {
  auto index = engine_.find_disk(name);
  if (!index) return Error(ENOENT, "no disk named '" + std::string(name) + "'");
  RINGLANE_TRY(engine_.remove_disk(*index));
  std::erase_if(config_.disks, [&](const auto& d) { return d.name == name; });
  log_line(LogLevel::info, "disk " + std::string(name) + " removed through the API");
  return {};
}

control::DiskView EngineControl::disk_view_of(uint16_t index) const {
  const VhostBlkDisk& d = *engine_.disks()[index];
  const blk::BlkDevice& device = d.device();
  control::DiskView v;
  v.name = d.name();
  v.socket = d.socket_path();
  v.image = d.image().path();
  v.mode = d.socket_mode() == vhost_user::SocketMode::client ? "client" : "server";
  v.connected = d.connected();
  v.readonly = device.settings().readonly;
  v.direct = device.settings().direct;
  v.writeback = device.settings().writeback.load(std::memory_order_relaxed);
  v.size_bytes = device.settings().capacity_sectors.load(std::memory_order_relaxed) * 512;
  if (uint64_t acked = device.acked_features(); acked != 0) {
    v.features = split_words(blk::blk_feature_names(acked));
  }
  for (uint16_t q = 0; q < device.queue_count(); ++q) {
    const blk::DiskQueue& queue = device.disk_queue(q);
    const blk::DiskQueueStats& s = queue.stats();
    control::DiskQueueView qv;
    qv.queue = q;
    qv.worker = static_cast<int>(engine_.worker_of_disk(index, q));
    qv.live = queue.queue().live();
    qv.in_flight = queue.in_flight();
    auto requests = [&](blk::RequestKind kind) {
      return s.requests[static_cast<size_t>(kind)].get();
    };
    qv.reads = requests(blk::RequestKind::in);
    qv.writes = requests(blk::RequestKind::out);
    qv.flushes = requests(blk::RequestKind::flush);
    qv.get_ids = requests(blk::RequestKind::get_id);
    qv.discards = requests(blk::RequestKind::discard);
    qv.write_zeroes = requests(blk::RequestKind::write_zeroes);
    qv.others = requests(blk::RequestKind::other);
    qv.completed = s.completed.get();
    qv.bytes_read = s.bytes_read.get();
    qv.bytes_written = s.bytes_written.get();
    qv.errors = s.total_errors();
    qv.ring_errors = s.ring_errors.get();
    v.queues.push_back(qv);
  }
  return v;
}

std::vector<control::DiskView> EngineControl::disks() const {
  std::vector<control::DiskView> out;
  for (size_t i = 0; i < engine_.disks().size(); ++i) {
    if (engine_.disks()[i] != nullptr) out.push_back(disk_view_of(static_cast<uint16_t>(i)));
  }
  return out;
}

std::optional<control::DiskView> EngineControl::disk(std::string_view name) const {
  auto index = engine_.find_disk(name);
  if (!index) return std::nullopt;
  return disk_view_of(*index);
}

std::vector<control::WorkerView> EngineControl::workers() const {
  std::vector<control::WorkerView> out(engine_.worker_count());
  for (unsigned w = 0; w < out.size(); ++w) {
    out[w].index = w;
    out[w].core = w < engine_.config().cores.size() ? engine_.config().cores[w] : -1;
  }
  double uptime =
      std::chrono::duration<double>(std::chrono::system_clock::now() - started_).count();
  for (const auto& worker : engine_.workers()) {
    control::WorkerView& v = out[worker->index()];
    const WorkerStats& s = worker->stats();
    v.packets = s.packets.get();
    v.bursts = s.bursts.get();
    v.idle_polls = s.idle_polls.get();
    v.loops = s.loops.get();
    v.busy_cycles = s.busy_cycles.get();
    v.sleeps = s.sleeps.get();
    // Since the daemon started: `ringlane-ctl top` and Prometheus take rates of the counters.
    v.busy_share = uptime > 0 ? std::min(1.0, seconds_of(v.busy_cycles) / uptime) : 0;
    v.cycles_per_packet =
        v.packets ? static_cast<double>(v.busy_cycles) / static_cast<double>(v.packets) : 0;
    uint64_t polls = v.idle_polls + v.bursts;
    v.idle_share = polls ? static_cast<double>(v.idle_polls) / static_cast<double>(polls) : 1;
  }
  for (size_t p = 0; p < engine_.ports().size(); ++p) {
    const Port* port = engine_.ports()[p].get();
    if (port == nullptr) continue;
    for (uint16_t qp = 0; qp < port->queue_pairs(); ++qp) {
      const QueueLoad& load = engine_.load(static_cast<uint16_t>(p), qp);
      out[engine_.worker_of(static_cast<uint16_t>(p), qp)].queues.push_back(
          {port->name(), qp, load.busy_cycles.get(), load.packets.get()});
    }
  }
  return out;
}

Status EngineControl::move_queue(std::string_view name, uint16_t queue_pair, unsigned worker) {
  auto index = engine_.find_port(name);
  if (!index) return Error(ENOENT, "no port named '" + std::string(name) + "'");
  RINGLANE_TRY(engine_.move_queue(*index, queue_pair, worker));
  return {};
}

Result<unsigned> EngineControl::rebalance() {
  last_rebalance_ = std::chrono::steady_clock::now();
  return engine_.rebalance();
}

void EngineControl::tick(std::chrono::steady_clock::time_point now, double rebalance_interval) {
  if (rebalance_interval <= 0 ||
      std::chrono::duration<double>(now - last_rebalance_).count() < rebalance_interval) {
    return;
  }
  unsigned moved = *rebalance();
  if (moved > 0) log_line(LogLevel::info, "rebalance moved " + std::to_string(moved) + " queue(s)");
}

std::vector<control::FdbEntry> EngineControl::fdb() const {
  std::vector<control::FdbEntry> out;
  engine_.macs().for_each(
      read_tsc(), [&](uint64_t mac, uint16_t vlan, uint16_t port, uint64_t age) {
        const auto& ports = engine_.ports();
        std::string name = port < ports.size() && ports[port] ? ports[port]->name() : "";
        out.push_back({mac, vlan, name, seconds_of(age)});
      });
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::tie(a.vlan, a.mac) < std::tie(b.vlan, b.mac);
  });
  return out;
}

Result<size_t> EngineControl::flush_fdb(std::string_view name) {
  if (name.empty()) return engine_.macs().flush();
  auto index = engine_.find_port(name);
  if (!index) return Error(ENOENT, "no port named '" + std::string(name) + "'");
  return engine_.macs().flush_port(*index);
}

control::DaemonInfo EngineControl::info() const {
  control::DaemonInfo i;
  i.version = RINGLANE_VERSION;
  i.mode = config_.mode;
  i.idle = idle_text_;
  i.start_time_seconds = std::chrono::duration<double>(started_.time_since_epoch()).count();
  i.uptime_seconds =
      std::chrono::duration<double>(std::chrono::system_clock::now() - started_).count();
  i.tsc_hz = tsc_hz();
  return i;
}

}  // namespace ringlane::dataplane
