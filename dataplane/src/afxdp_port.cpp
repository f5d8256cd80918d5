#include "ringlane/dataplane/afxdp_port.h"

#include <algorithm>
#include <cstdio>

#include "ringlane/base/log.h"
#include "ringlane/base/prefetch.h"
#include "ringlane/dataplane/port_factory.h"
#include "ringlane/dataplane/shared_transmit.h"
#include "ringlane/net/wire_frame.h"

namespace ringlane::dataplane {

namespace {

constexpr uint32_t kEthernetHeader = 14;
constexpr uint32_t kVlanTag = 4;
// How often tick() asks the kernel whether the link has carrier.
constexpr auto kLinkCheckInterval = std::chrono::seconds(1);

uplink::XdpMode xdp_mode_of(control::XdpAttach a) {
  switch (a) {
    case control::XdpAttach::native:
      return uplink::XdpMode::native;
    case control::XdpAttach::generic:
      return uplink::XdpMode::generic;
    case control::XdpAttach::automatic:
      break;
  }
  return uplink::XdpMode::automatic;
}

uplink::ZeroCopyMode zerocopy_of(control::ZeroCopy z) {
  switch (z) {
    case control::ZeroCopy::on:
      return uplink::ZeroCopyMode::on;
    case control::ZeroCopy::off:
      return uplink::ZeroCopyMode::off;
    case control::ZeroCopy::automatic:
      break;
  }
  return uplink::ZeroCopyMode::automatic;
}

std::string mac_text(uint64_t mac) {
  char text[18];
  std::snprintf(text, sizeof(text), "%02x:%02x:%02x:%02x:%02x:%02x",
                static_cast<unsigned>(mac >> 40 & 0xff), static_cast<unsigned>(mac >> 32 & 0xff),
                static_cast<unsigned>(mac >> 24 & 0xff), static_cast<unsigned>(mac >> 16 & 0xff),
                static_cast<unsigned>(mac >> 8 & 0xff), static_cast<unsigned>(mac & 0xff));
  return text;
}

std::string vlans_text(const net::PortVlans& v) {
  switch (v.mode) {
    case net::PortVlans::Mode::none:
      return "no VLANs";
    case net::PortVlans::Mode::access:
      return "access VLAN " + std::to_string(v.access);
    case net::PortVlans::Mode::trunk:
      return "trunk of " + std::to_string(v.trunk.count()) + " VLANs";
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<Port>> make_afxdp_port(const control::PortConfig& config,
                                              PortContext& context) {
  AfXdpPortConfig c;
  c.name = config.name;
  c.ifname = config.ifname;
  c.queues = config.queue_pairs;
  c.xdp = xdp_mode_of(config.xdp);
  c.zerocopy = zerocopy_of(config.zerocopy);
  c.vlans = net::PortVlans::from(config.access_vlan, config.trunk_vlans);
  c.learns_addresses = context.learns_addresses;
  c.port_index = context.port_index;
  RINGLANE_ASSIGN_OR_RETURN(std::unique_ptr<AfXdpPort> port, AfXdpPort::open(c));
  log_line(LogLevel::info, "port " + config.name + ": " + port->description());
  return std::unique_ptr<Port>(std::move(port));
}

Result<std::unique_ptr<AfXdpPort>> AfXdpPort::open(const AfXdpPortConfig& config) {
  RINGLANE_ASSIGN_OR_RETURN(uplink::InterfaceInfo info, uplink::inspect_interface(config.ifname));
  if (!info.up) {
    return Error(ENETDOWN, "interface '" + config.ifname + "' is down (ip link set " +
                               config.ifname + " up)");
  }
  if (config.queues == 0 || config.queues > info.rx_queues) {
    return Error(EINVAL, "queues=" + std::to_string(config.queues) + " but interface '" +
                             config.ifname + "' has " + std::to_string(info.rx_queues) +
                             " receive queue" + (info.rx_queues == 1 ? "" : "s"));
  }
  if (config.queues > RL_MAX_QUEUES) {
    return Error(EINVAL, "queues must be at most " + std::to_string(RL_MAX_QUEUES));
  }
  RINGLANE_TRY(uplink::check_xdp_permissions());
  RINGLANE_TRY(uplink::check_af_xdp_sockets());
  if (config.zerocopy == uplink::ZeroCopyMode::on && config.xdp == uplink::XdpMode::generic) {
    return Error(EINVAL, "zerocopy=on needs native XDP; xdp=generic cannot give it");
  }

  std::unique_ptr<AfXdpPort> port(new AfXdpPort(config));
  port->interface_ = info;
  uint32_t mtu = std::max<uint32_t>(info.mtu, 1500);
  port->max_rx_frame_ = mtu + kEthernetHeader + 2 * kVlanTag;
  port->max_tx_frame_ = mtu + kEthernetHeader + kVlanTag;

  uplink::SteeringSettings steering;
  steering.ifname = config.ifname;
  steering.ifindex = info.ifindex;
  steering.mode = config.xdp;
  steering.own_mac = info.mac;
  steering.vlans = config.vlans;
  steering.steer_all = !config.learns_addresses;
  steering.queues = config.queues;
  std::vector<std::string> notes;
  RINGLANE_ASSIGN_OR_RETURN(port->steering_, uplink::XdpSteering::attach(steering, notes));
  for (const auto& note : notes) log_line(LogLevel::info, "port " + config.name + ": " + note);

  for (uint16_t qid = 0; qid < config.queues; ++qid) {
    uplink::XskSettings xs;
    xs.ifname = config.ifname;
    xs.queue_id = qid;
    xs.zerocopy = port->steering_->native() ? config.zerocopy : uplink::ZeroCopyMode::off;
    auto q = std::make_unique<Queue>();
    RINGLANE_ASSIGN_OR_RETURN(q->xsk, uplink::XskQueue::open(xs));
    RINGLANE_TRY(q->xsk->insert_into(port->steering_->xsk_map_fd()));
    port->queues_.push_back(std::move(q));
  }
  RINGLANE_ASSIGN_OR_RETURN(uplink::BpfRingReader copies,
                            uplink::BpfRingReader::map(port->steering_->copy_ring_fd()));
  port->copies_.emplace(std::move(copies));
  RINGLANE_TRY(port->steering_->enable());
  if (config.queues < info.rx_queues) {
    log_line(LogLevel::warn,
             "port " + config.name + ": " + config.ifname + " has " +
                 std::to_string(info.rx_queues) + " receive queues and ringlane serves " +
                 std::to_string(config.queues) +
                 ": frames the interface puts on the others go to the kernel (counted as "
                 "xdp_unserved_queue); use queues=" +
                 std::to_string(info.rx_queues) + " or fewer queues on the interface");
  }
  port->link_up_.store(info.running, std::memory_order_relaxed);
  return port;
}

AfXdpPort::~AfXdpPort() {
  // The program first: from then on every frame goes to the kernel, none to a closing socket.
  steering_.reset();
  copies_.reset();
  queues_.clear();
}

std::string AfXdpPort::description() const {
  const uplink::XskQueue& first = *queues_.front()->xsk;
  std::string text = "AF_XDP on " + config_.ifname;
  if (!interface_.driver.empty()) text += " (" + interface_.driver + ")";
  text += ", " + std::to_string(config_.queues) + " queue" + (config_.queues == 1 ? "" : "s") +
          ", XDP " + steering_->description() + ", " +
          (first.zerocopy() ? "zero-copy" : "copy mode") + ", need_wakeup";
  if (!first.busy_poll().empty()) text += ", " + first.busy_poll();
  text += "; steers ";
  text += config_.learns_addresses ? "the addresses the switch learns"
                                   : "every unicast frame but the host's";
  text += " (host address " + mac_text(interface_.mac) + " stays the kernel's), " +
          vlans_text(config_.vlans);
  return text;
}

// ---- receive ----

uint16_t AfXdpPort::receive(uint16_t qp, net::PacketBatch& batch) {
  batch.clear();
  Queue& q = *queues_[qp];
  uplink::XskQueue& x = *q.xsk;
  uint32_t idx = 0;
  uint32_t n = xsk_ring_cons__peek(&x.rx, net::kBurstSize, &idx);
  if (n == 0) {
    // Only when the kernel ran out of fill frames and waits to be told of new ones.
    if (x.wake_receive()) q.rx.wakeups.inc();
  } else {
    for (uint32_t i = 0; i < n; ++i) {
      const xdp_desc* d = xsk_ring_cons__rx_desc(&x.rx, idx + i);
      prefetch_read(x.frame_data(d->addr), kCacheLine);
    }
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < n; ++i) {
      const xdp_desc* d = xsk_ring_cons__rx_desc(&x.rx, idx + i);
      auto head = static_cast<uint16_t>(d->addr >> x.frame_shift());
      batch.source_heads[batch.source_head_count++] = head;
      if (d->len < kEthernetHeader) [[unlikely]] {
        q.rx.runt.inc();
        continue;
      }
      if (d->len > max_rx_frame_) [[unlikely]] {
        q.rx.oversized.inc();
        continue;
      }
      net::PacketView& p = batch.packets[batch.count++];
      p.first_span = batch.spans_used;
      p.span_count = 1;
      p.head = head;
      p.len = d->len;
      p.hdr = {};
      batch.spans[batch.spans_used++] = {x.frame_data(d->addr), d->len};
      bytes += d->len;
    }
    xsk_ring_cons__release(&x.rx, n);
    q.rx.packets.add(batch.count);
    q.rx.bytes.add(bytes);
  }
  // Multicast and broadcast copies, read in place from the program's ring buffer.
  if (qp == 0 && copies_) {
    uint32_t copied = 0;
    uint64_t bytes = 0;
    uint32_t len = 0;
    while (batch.count < net::kBurstSize) {
      const uint8_t* record = copies_->next(len);
      if (record == nullptr) break;
      const auto* r = reinterpret_cast<const rl_copy_record*>(record);
      if (len < offsetof(rl_copy_record, data) || r->len < kEthernetHeader ||
          r->len > RL_COPY_MAX_FRAME || r->len > max_rx_frame_) [[unlikely]] {
        q.rx.runt.inc();
        continue;
      }
      net::PacketView& p = batch.packets[batch.count++];
      p.first_span = batch.spans_used;
      p.span_count = 1;
      p.head = kCopyHead;
      p.len = r->len;
      p.hdr = {};
      // The mapping is read-only: nothing writes into a frame it forwards.
      batch.spans[batch.spans_used++] = {const_cast<uint8_t*>(r->data), r->len};
      ++copied;
      bytes += r->len;
    }
    if (copied > 0) {
      q.rx.copies.add(copied);
      q.rx.packets.add(copied);
      q.rx.bytes.add(bytes);
    } else if (copies_->holding()) {
      copies_->release();  // only refused records were read
    }
  }
  // Frames the switch will never see (all refused) go back now: release() is only called for a
  // burst with packets in it.
  if (batch.count == 0 && batch.source_head_count > 0) {
    give_back(q, batch.source_heads, batch.source_head_count);
  }
  return batch.count;
}

void AfXdpPort::give_back(Queue& q, const uint16_t* heads, uint32_t n) {
  uplink::XskQueue& x = *q.xsk;
  uint32_t idx = 0;
  // The fill ring holds every receive frame, so there is always room for those we took.
  if (xsk_ring_prod__reserve(&x.fill, n, &idx) != n) [[unlikely]]
    return;
  for (uint32_t i = 0; i < n; ++i) {
    *xsk_ring_prod__fill_addr(&x.fill, idx + i) = uint64_t{heads[i]} << x.frame_shift();
  }
  xsk_ring_prod__submit(&x.fill, n);
}

void AfXdpPort::release(uint16_t qp, const net::PacketBatch& batch) {
  Queue& q = *queues_[qp];
  if (batch.source_head_count > 0) give_back(q, batch.source_heads, batch.source_head_count);
  if (qp == 0 && copies_ && copies_->holding()) copies_->release();
}

// ---- transmit ----

void AfXdpPort::reclaim_completions(Queue& q) {
  uplink::XskQueue& x = *q.xsk;
  uint32_t idx = 0;
  uint32_t n = xsk_ring_cons__peek(&x.comp, x.rx_frames(), &idx);
  if (n == 0) return;
  for (uint32_t i = 0; i < n; ++i) {
    if (!x.tx_pool.put(*xsk_ring_cons__comp_addr(&x.comp, idx + i))) [[unlikely]] {
      q.tx.bad_completions.inc();
    }
  }
  xsk_ring_cons__release(&x.comp, n);
}

// Hands write_wire_frames a free transmit frame per segment and queues each one written.
class AfXdpPort::TransmitSink final : public net::FrameSink {
 public:
  TransmitSink(AfXdpPort& port, Queue& q) : port_(port), q_(q), x_(*q.xsk) {}
  TransmitSink(const TransmitSink&) = delete;
  TransmitSink& operator=(const TransmitSink&) = delete;
  ~TransmitSink() {
    if (holding_) x_.tx_pool.put(addr_);
  }

  std::span<uint8_t> buffer() override {
    if (!holding_) {
      if (!x_.tx_pool.take(addr_)) {
        port_.reclaim_completions(q_);
        if (!x_.tx_pool.take(addr_)) return {};
      }
      holding_ = true;
    }
    return {x_.frame_data(addr_), x_.frame_size()};
  }
  void commit(uint32_t len) override {
    if (!holding_) [[unlikely]]
      return;
    // A segment longer than the wire takes (a guest's MSS above the interface's MTU) would be
    // dropped by the kernel unseen: count it here, and keep the frame for the next one.
    if (len > port_.max_tx_frame_) [[unlikely]] {
      ++too_large;
      return;
    }
    uint32_t idx = 0;
    // As many ring entries as transmit frames: a frame in hand always has one.
    if (xsk_ring_prod__reserve(&x_.tx, 1, &idx) != 1) [[unlikely]]
      return;
    xdp_desc* d = xsk_ring_prod__tx_desc(&x_.tx, idx);
    d->addr = addr_;
    d->len = len;
    d->options = 0;
    holding_ = false;
    ++frames;
    bytes += len;
  }

  uint32_t frames = 0;
  uint32_t too_large = 0;
  uint64_t bytes = 0;

 private:
  AfXdpPort& port_;
  Queue& q_;
  uplink::XskQueue& x_;
  uint64_t addr_ = 0;
  bool holding_ = false;
};

uint16_t AfXdpPort::transmit(uint16_t qp, const net::PacketBatch& batch,
                             std::span<const uint16_t> which) {
  Queue& q = *queues_[qp];
  return transmit_serialised(q.transmit_busy, shared_transmit_,
                             [&] { return transmit_locked(q, batch, which); });
}

uint16_t AfXdpPort::transmit_locked(Queue& q, const net::PacketBatch& batch,
                                    std::span<const uint16_t> which) {
  uplink::XskQueue& x = *q.xsk;
  reclaim_completions(q);
  uint16_t sent = 0;
  uint32_t frames = 0;
  uint64_t bytes = 0;
  for (uint16_t i : which) {
    const net::PacketView& p = batch.packets[i];
    if (net::needs_wire_offload(p)) [[unlikely]] {
      TransmitSink sink(*this, q);
      net::WireFrames w = net::write_wire_frames(batch, p, sink);
      if (w.malformed) q.tx.malformed.inc();
      if (w.dropped > 0) q.tx.no_frames.add(w.dropped);
      if (sink.too_large > 0) q.tx.too_large.add(sink.too_large);
      if (sink.frames > 0) ++sent;
      frames += sink.frames;
      bytes += sink.bytes;
      continue;
    }
    if (p.len > max_tx_frame_) [[unlikely]] {
      q.tx.too_large.inc();
      continue;
    }
    uint64_t addr = 0;
    if (!x.tx_pool.take(addr)) {
      reclaim_completions(q);
      if (!x.tx_pool.take(addr)) {
        q.tx.no_frames.inc();
        continue;
      }
    }
    uint32_t len = net::copy_plain_frame(batch, p, {x.frame_data(addr), x.frame_size()});
    uint32_t idx = 0;
    if (len == 0 || xsk_ring_prod__reserve(&x.tx, 1, &idx) != 1) [[unlikely]] {
      x.tx_pool.put(addr);
      q.tx.too_large.inc();
      continue;
    }
    xdp_desc* d = xsk_ring_prod__tx_desc(&x.tx, idx);
    d->addr = addr;
    d->len = len;
    d->options = 0;
    ++frames;
    ++sent;
    bytes += len;
  }
  if (frames > 0) {
    xsk_ring_prod__submit(&x.tx, frames);
    q.tx.kicks.add(x.kick_transmit());
    q.tx.packets.add(frames);
    q.tx.bytes.add(bytes);
  }
  return sent;
}

// ---- control thread ----

void AfXdpPort::tick(std::chrono::steady_clock::time_point now) {
  // Frames a worker queued and the kernel left in the ring (it was busy at the kick) go now,
  // even if no other frame is sent to this port after them. A system call on the socket from
  // this thread is safe beside a worker's: the kernel serialises them.
  for (auto& q : queues_) {
    if (q->xsk->tx_queued() > 0) q->tick_kicks.add(q->xsk->kick_transmit());
  }
  if (now < next_link_check_) return;
  next_link_check_ = now + kLinkCheckInterval;
  link_up_.store(uplink::interface_running(config_.ifname), std::memory_order_relaxed);
}

void AfXdpPort::steer(uint64_t key, bool on) {
  rl_steer_key k = uplink::steer_key(key & 0xffffffffffff, static_cast<uint16_t>(key >> 48));
  if (on) {
    if (steered_.count(key) != 0) return;
    if (Status s = steering_->add_address(k); !s.ok()) {
      log_limit_.log(LogLevel::warn, "port " + config_.name + ": " + s.error().to_string());
      return;
    }
    steered_.insert(key);
  } else {
    if (steered_.erase(key) == 0) return;
    if (Status s = steering_->remove_address(k); !s.ok()) {
      log_limit_.log(LogLevel::warn, "port " + config_.name + ": " + s.error().to_string());
    }
  }
}

void AfXdpPort::address_learned(uint64_t mac, uint16_t vlan, uint16_t port) {
  std::optional<uint16_t> wire = config_.vlans.wire_vlan(vlan);
  if (!wire) return;
  // A station behind this uplink is the wire's: its frames stay with the kernel.
  steer(address_key(mac, *wire), port != config_.port_index);
}

void AfXdpPort::address_forgotten(uint64_t mac, uint16_t vlan) {
  std::optional<uint16_t> wire = config_.vlans.wire_vlan(vlan);
  if (!wire) return;
  steer(address_key(mac, *wire), false);
}

// ---- statistics ----

std::vector<PortQueueStats> AfXdpPort::queue_stats() const {
  std::vector<PortQueueStats> out;
  for (size_t qp = 0; qp < queues_.size(); ++qp) {
    const Queue& q = *queues_[qp];
    PortQueueStats s;
    s.queue_pair = static_cast<uint16_t>(qp);
    s.rx_live = true;
    s.tx_live = true;
    s.rx_packets = q.rx.packets.get();
    s.rx_bytes = q.rx.bytes.get();
    s.rx_drop_malformed = q.rx.runt.get() + q.rx.oversized.get();
    s.tx_packets = q.tx.packets.get();
    s.tx_bytes = q.tx.bytes.get();
    s.tx_drop_no_buffers = q.tx.no_frames.get();
    s.tx_drop_too_large = q.tx.too_large.get();
    s.notifications = q.rx.wakeups.get() + q.tx.kicks.get() + q.tick_kicks.get();
    out.push_back(s);
  }
  return out;
}

std::vector<std::pair<std::string, uint64_t>> AfXdpPort::counters() const {
  uint64_t runt = 0, oversized = 0, copies = 0, malformed = 0, bad_completions = 0;
  uint64_t xsk_rx_dropped = 0, xsk_rx_invalid = 0, xsk_tx_invalid = 0, xsk_rx_ring_full = 0,
           xsk_fill_empty = 0;
  for (const auto& q : queues_) {
    runt += q->rx.runt.get();
    oversized += q->rx.oversized.get();
    copies += q->rx.copies.get();
    malformed += q->tx.malformed.get();
    bad_completions += q->tx.bad_completions.get();
    xdp_statistics s = q->xsk->statistics();
    xsk_rx_dropped += s.rx_dropped;
    xsk_rx_invalid += s.rx_invalid_descs;
    xsk_tx_invalid += s.tx_invalid_descs;
    xsk_rx_ring_full += s.rx_ring_full;
    xsk_fill_empty += s.rx_fill_ring_empty_descs;
  }
  std::array<uint64_t, RL_STAT_COUNT> xdp = steering_->statistics();
  return {
      {"rx_drop_runt", runt},
      {"rx_drop_oversized", oversized},
      {"rx_multicast_copies", copies},
      {"tx_drop_malformed", malformed},
      {"tx_bad_completions", bad_completions},
      {"xdp_steered", xdp[RL_STAT_STEERED]},
      {"xdp_passed", xdp[RL_STAT_PASSED]},
      {"xdp_own_address", xdp[RL_STAT_OWN_ADDRESS]},
      {"xdp_copied", xdp[RL_STAT_COPIED]},
      {"xdp_copy_lost", xdp[RL_STAT_COPY_LOST]},
      {"xdp_copy_too_large", xdp[RL_STAT_COPY_TOO_LARGE]},
      {"xdp_other_vlan", xdp[RL_STAT_OTHER_VLAN]},
      {"xdp_runt", xdp[RL_STAT_RUNT]},
      {"xdp_unserved_queue", xdp[RL_STAT_UNSERVED_QUEUE]},
      {"xsk_rx_dropped", xsk_rx_dropped},
      {"xsk_rx_invalid_descs", xsk_rx_invalid},
      {"xsk_tx_invalid_descs", xsk_tx_invalid},
      {"xsk_rx_ring_full", xsk_rx_ring_full},
      {"xsk_fill_ring_empty", xsk_fill_empty},
      {"steered_addresses", steered_.size()},
      {"link_up", connected() ? 1u : 0u},
  };
}

}  // namespace ringlane::dataplane
