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

uint16_t VhostNetPort::receive(uint16_t qp, net::PacketBatch& batch) {
  batch.clear();
  virtio::SplitQueue& q = device_.tx_queue(qp);
  if (!q.serving()) return 0;
  return net::dequeue_burst(q, device_.features(), batch);
}

void VhostNetPort::release(uint16_t qp, const net::PacketBatch& batch) {
  net::complete_burst(device_.tx_queue(qp), batch);
}

uint16_t VhostNetPort::transmit(uint16_t qp, const net::PacketBatch& batch,
                                std::span<const uint16_t> which) {
  virtio::SplitQueue& q = device_.rx_queue(qp);
  if (!q.serving()) [[unlikely]] {
    q.stats().drop_queue_down.add(which.size());
    return 0;
  }
  return transmit_serialised(transmit_busy_[qp], shared_transmit_, [&] {
    return net::enqueue_burst(q, device_.features(), batch, which);
  });
}

Port::Wakeup VhostNetPort::arm_wakeup(uint16_t qp) {
  return arm_ring_wakeup(device_.tx_queue(qp));
}

void VhostNetPort::disarm_wakeup(uint16_t qp, bool signalled) {
  disarm_ring_wakeup(device_.tx_queue(qp), signalled);
}

int VhostNetPort::transmit_queue_for(unsigned worker) const {
  uint16_t pairs = device_.max_queue_pairs();
  // Prefer a queue pair of this worker's own so workers do not share one.
  for (uint16_t i = 0; i < pairs; ++i) {
    auto qp = static_cast<uint16_t>((worker + i) % pairs);
    if (device_.rx_queue(qp).serving()) return qp;
  }
  return -1;
}

std::vector<PortQueueStats> VhostNetPort::queue_stats() const {
  std::vector<PortQueueStats> out;
  const auto& dev = device_;
  for (uint16_t qp = 0; qp < dev.max_queue_pairs(); ++qp) {
    const auto& rx = dev.tx_queue(qp);  // the guest transmits, we receive
    const auto& tx = dev.rx_queue(qp);
    PortQueueStats s;
    s.queue_pair = qp;
    s.rx_live = rx.live();
    s.tx_live = tx.live();
    const auto& r = rx.stats();
    const auto& t = tx.stats();
    s.rx_packets = r.packets.get();
    s.rx_bytes = r.bytes.get();
    s.rx_drop_malformed = r.drop_malformed.get();
    s.rx_drop_chain = r.drop_chain.get();
    s.rx_ring_errors = r.ring_errors.get();
    s.tx_packets = t.packets.get();
    s.tx_bytes = t.bytes.get();
    s.tx_drop_no_buffers = t.drop_no_buffers.get();
    s.tx_drop_too_large = t.drop_too_large.get();
    s.tx_drop_queue_down = t.drop_queue_down.get();
    s.tx_ring_errors = t.ring_errors.get();
    s.notifications = r.notifications.get() + t.notifications.get();
    s.kicks = r.kicks.get();
    s.rx_occupancy = rx.occupancy();
    s.tx_occupancy = tx.occupancy();
    out.push_back(s);
  }
  return out;
}

}  // namespace ringlane::dataplane
