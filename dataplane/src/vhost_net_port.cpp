#include "ringlane/dataplane/vhost_net_port.h"

#include "ringlane/base/log.h"
#include "ringlane/dataplane/kick_wait.h"
#include "ringlane/dataplane/port_factory.h"
#include "ringlane/dataplane/shared_transmit.h"
#include "ringlane/net/rx.h"
#include "ringlane/net/tx.h"

namespace ringlane::dataplane {

namespace {

vhost_user::NetDeviceConfig device_config(const VhostNetPortConfig& c) {
  vhost_user::NetDeviceConfig d;
  d.name = c.name;
  d.max_queue_pairs = c.queue_pairs;
  d.disabled_features = c.disabled_features;
  return d;
}

}  // namespace

Result<std::unique_ptr<Port>> make_vhost_port(const control::PortConfig& config,
                                              PortContext& context) {
  VhostNetPortConfig pc;
  pc.name = config.name;
  pc.socket_path = config.socket_path;
  pc.socket_mode = vhost_user::socket_mode_of(config.client_mode);
  pc.queue_pairs = config.queue_pairs;
  RINGLANE_ASSIGN_OR_RETURN(pc.disabled_features, control::feature_mask(config.disabled_features));
  auto port = std::make_unique<VhostNetPort>(pc, context.grace, *context.loop);
  // Listening fails for a path that is too long, in a missing directory or taken by another
  // kind of file: a configuration the operator has to mend.
  RINGLANE_TRY(port->start());
  log_line(LogLevel::info, "port " + config.name + ": vhost-user-net on " + config.socket_path +
                               " (" + (config.client_mode ? "client" : "server") + ", " +
                               std::to_string(config.queue_pairs) + " queue pairs)");
  return std::unique_ptr<Port>(std::move(port));
}

VhostNetPort::VhostNetPort(const VhostNetPortConfig& config, QuiescentState* grace, EventLoop& loop)
    : name_(config.name),
      device_(device_config(config), grace),
      endpoint_(config.socket_path, config.socket_mode, device_, loop) {}

// Each burst asks the device once which kind of ring serves (ring_packed()): the kind changes
// only while every queue is stopped, and the split path, the default, pays that one predicted
// branch. The packed path is the same code on the other queue type.

uint16_t VhostNetPort::receive(uint16_t qp, net::PacketBatch& batch) {
  batch.clear();
  if (device_.ring_packed()) [[unlikely]] {
    virtio::PackedQueue& q = device_.tx_packed(qp);
    if (!q.serving()) return 0;
    return net::dequeue_burst(q, device_.features(), batch);
  }
  virtio::SplitQueue& q = device_.tx_queue(qp);
  if (!q.serving()) return 0;
  return net::dequeue_burst(q, device_.features(), batch);
}

void VhostNetPort::release(uint16_t qp, const net::PacketBatch& batch) {
  if (device_.ring_packed()) [[unlikely]] {
    net::complete_burst(device_.tx_packed(qp), batch);
    return;
  }
  net::complete_burst(device_.tx_queue(qp), batch);
}

template <typename Queue>
uint16_t VhostNetPort::transmit_to(Queue& q, uint16_t qp, const net::PacketBatch& batch,
                                   std::span<const uint16_t> which) {
  if (!q.serving()) [[unlikely]] {
    q.stats().drop_queue_down.add(which.size());
    return 0;
  }
  return transmit_serialised(transmit_busy_[qp], shared_transmit_, [&] {
    return net::enqueue_burst(q, device_.features(), batch, which);
  });
}

uint16_t VhostNetPort::transmit(uint16_t qp, const net::PacketBatch& batch,
                                std::span<const uint16_t> which) {
  if (device_.ring_packed()) [[unlikely]] {
    return transmit_to(device_.rx_packed(qp), qp, batch, which);
  }
  return transmit_to(device_.rx_queue(qp), qp, batch, which);
}

Port::Wakeup VhostNetPort::arm_wakeup(uint16_t qp) {
  if (device_.ring_packed()) return arm_ring_wakeup(device_.tx_packed(qp));
  return arm_ring_wakeup(device_.tx_queue(qp));
}

void VhostNetPort::disarm_wakeup(uint16_t qp, bool signalled) {
  if (device_.ring_packed()) {
    disarm_ring_wakeup(device_.tx_packed(qp), signalled);
    return;
  }
  disarm_ring_wakeup(device_.tx_queue(qp), signalled);
}

int VhostNetPort::transmit_queue_for(unsigned worker) const {
  uint16_t pairs = device_.max_queue_pairs();
  bool packed = device_.ring_packed();
  // Prefer a queue pair of this worker's own so workers do not share one.
  for (uint16_t i = 0; i < pairs; ++i) {
    auto qp = static_cast<uint16_t>((worker + i) % pairs);
    if (packed ? device_.rx_packed(qp).serving() : device_.rx_queue(qp).serving()) return qp;
  }
  return -1;
}

namespace {

// One direction of a queue pair, from whichever queue kind served it: a port's counters are
// the sum of both, so they keep counting across a reconnect that changes the kind. The queue
// that does not serve is stopped, and its occupancy reads 0.
struct Direction {
  bool live = false;
  uint64_t packets = 0, bytes = 0, drop_malformed = 0, drop_chain = 0, drop_no_buffers = 0,
           drop_too_large = 0, drop_queue_down = 0, ring_errors = 0, notifications = 0, kicks = 0;
  uint32_t occupancy = 0;

  template <typename Queue>
  void add(const Queue& q) {
    const virtio::QueueStats& s = q.stats();
    live = live || q.live();
    packets += s.packets.get();
    bytes += s.bytes.get();
    drop_malformed += s.drop_malformed.get();
    drop_chain += s.drop_chain.get();
    drop_no_buffers += s.drop_no_buffers.get();
    drop_too_large += s.drop_too_large.get();
    drop_queue_down += s.drop_queue_down.get();
    ring_errors += s.ring_errors.get();
    notifications += s.notifications.get();
    kicks += s.kicks.get();
    occupancy += q.occupancy();
  }
};

}  // namespace

std::vector<std::pair<std::string, uint64_t>> VhostNetPort::counters() const {
  uint64_t pages = 0;
  for (uint16_t i = 0; i < device_.vring_count(); ++i) {
    pages += device_.vring(i).stats().dirty_pages.get() +
             device_.packed_vring(i).stats().dirty_pages.get();
  }
  return {{"dirty_log_on", device_.logging() ? 1 : 0}, {"dirty_pages_logged", pages}};
}

std::vector<PortQueueStats> VhostNetPort::queue_stats() const {
  std::vector<PortQueueStats> out;
  const auto& dev = device_;
  for (uint16_t qp = 0; qp < dev.max_queue_pairs(); ++qp) {
    Direction r;  // the guest transmits, we receive
    r.add(dev.tx_queue(qp));
    r.add(dev.tx_packed(qp));
    Direction t;
    t.add(dev.rx_queue(qp));
    t.add(dev.rx_packed(qp));
    PortQueueStats s;
    s.queue_pair = qp;
    s.rx_live = r.live;
    s.tx_live = t.live;
    s.rx_packets = r.packets;
    s.rx_bytes = r.bytes;
    s.rx_drop_malformed = r.drop_malformed;
    s.rx_drop_chain = r.drop_chain;
    s.rx_ring_errors = r.ring_errors;
    s.tx_packets = t.packets;
    s.tx_bytes = t.bytes;
    s.tx_drop_no_buffers = t.drop_no_buffers;
    s.tx_drop_too_large = t.drop_too_large;
    s.tx_drop_queue_down = t.drop_queue_down;
    s.tx_ring_errors = t.ring_errors;
    s.notifications = r.notifications + t.notifications;
    s.kicks = r.kicks;
    s.rx_occupancy = r.occupancy;
    s.tx_occupancy = t.occupancy;
    out.push_back(s);
  }
  return out;
}

}  // namespace ringlane::dataplane
