#include "ringlane/dataplane/forwarding.h"

#include <optional>

#include "ringlane/base/tsc_clock.h"
#include "ringlane/virtio/span_cursor.h"

namespace ringlane::dataplane {

const char* to_string(ForwardingMode mode) {
  return mode == ForwardingMode::cross_connect ? "xconnect" : "l2";
}

namespace {

uint16_t all_indices_storage[net::kBurstSize] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                                                 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
                                                 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};

uint32_t send_to(const SwitchView& view, unsigned worker, uint16_t out,
                 const net::PacketBatch& batch, std::span<const uint16_t> which,
                 WorkerStats& stats) {
  Port* port = out < view.ports.size() ? view.ports[out] : nullptr;
  int qp = port ? port->transmit_queue_for(worker) : -1;
  if (qp < 0) [[unlikely]] {
    stats.drop_no_route.add(which.size());
    return 0;
  }
  return port->transmit(static_cast<uint16_t>(qp), batch, which);
}

uint32_t forward_cross_connect(const SwitchView& view, unsigned worker, uint16_t in,
                               const net::PacketBatch& batch, WorkerStats& stats) {
  int peer = in < view.peer.size() ? view.peer[in] : -1;
  std::span<const uint16_t> all(all_indices_storage, batch.count);
  if (peer < 0) [[unlikely]] {
    stats.drop_no_route.add(batch.count);
    return 0;
  }
  return send_to(view, worker, static_cast<uint16_t>(peer), batch, all, stats);
}

// Destination and source MACs of a packet, even if the guest split the Ethernet header.
bool read_macs(const net::PacketBatch& batch, const net::PacketView& p, uint64_t& dst,
               uint64_t& src) {
  if (p.len < 14) return false;
  const virtio::HostSpan* spans = batch.spans_of(p);
  uint8_t header[12];
  const uint8_t* h = spans[0].data;
  if (spans[0].len < 12) {
    virtio::SpanCursor(spans, p.span_count).read(header, sizeof(header));
    h = header;
  }
  dst = read_mac(h);
  src = read_mac(h + 6);
  return true;
}

uint32_t forward_l2(const SwitchView& view, unsigned worker, uint16_t in,
                    const net::PacketBatch& batch, OutputLists& outputs, WorkerStats& stats) {
  size_t nports = view.ports.size();
  if (nports > outputs.port_capacity()) [[unlikely]] {
    outputs.grow(nports);  // once per new high in the port count
  }
  uint64_t now = read_tsc();
  for (uint16_t i = 0; i < batch.count; ++i) {
    uint64_t dst, src;
    if (!read_macs(batch, batch.packets[i], dst, src)) {
      stats.drop_filtered.inc();
      continue;
    }
    if (!is_multicast(src) && src != 0) view.macs->learn(src, in, now);
    uint16_t out = is_multicast(dst) ? MacTable::kNoPort : view.macs->lookup(dst, now);
    if (out == MacTable::kNoPort) {
      stats.flooded.inc();
      for (size_t p = 0; p < nports; ++p) {
        if (p != in && view.ports[p] != nullptr) outputs.add(static_cast<uint16_t>(p), i);
      }
    } else if (out == in || out >= nports) {
      stats.drop_filtered.inc();
    } else {
      outputs.add(out, i);
    }
  }
  uint32_t sent = 0;
  for (uint16_t p : outputs.ports()) {
    sent += send_to(view, worker, p, batch, outputs.packets_for(p), stats);
  }
  outputs.clear();
  return sent;
}

// The L2 switch with VLANs: each frame is classified as it enters, learned and looked up within
// its VLAN, and leaves only through ports that carry that VLAN, tagged or not as each wants.
uint32_t forward_l2_vlans(const SwitchView& view, unsigned worker, uint16_t in,
                          const net::PacketBatch& batch, ForwardScratch& scratch,
                          WorkerStats& stats) {
  OutputLists& outputs = scratch.outputs;
  size_t nports = view.ports.size();
  if (nports > outputs.port_capacity()) [[unlikely]] {
    outputs.grow(nports);
  }
  uint64_t now = read_tsc();
  const PortVlans& ingress = view.vlans[in];
  for (uint16_t i = 0; i < batch.count; ++i) {
    uint64_t dst, src;
    std::optional<FrameVlan> vlan;
    if (!read_macs(batch, batch.packets[i], dst, src) ||
        !(vlan = net::ingress_vlan(ingress, batch, batch.packets[i]))) {
      stats.drop_vlan.inc();
      continue;
    }
    scratch.vlans[i] = *vlan;
    if (!is_multicast(src) && src != 0) view.macs->learn(src, in, now, vlan->vid);
    uint16_t out = is_multicast(dst) ? MacTable::kNoPort : view.macs->lookup(dst, now, vlan->vid);
    if (out == MacTable::kNoPort) {
      stats.flooded.inc();
      for (size_t p = 0; p < nports; ++p) {
        if (p != in && view.ports[p] != nullptr && view.vlans[p].carries(vlan->vid)) {
          outputs.add(static_cast<uint16_t>(p), i);
        }
      }
    } else if (out == in || out >= nports || !view.vlans[out].carries(vlan->vid)) {
      stats.drop_filtered.inc();
    } else {
      outputs.add(out, i);
    }
  }
  uint32_t sent = 0;
  for (uint16_t p : outputs.ports()) {
    std::span<const uint16_t> which = outputs.packets_for(p);
    bool tag = view.vlans[p].tags_egress();
    // A port without VLANs takes frames as they came; others when their tagging already fits.
    if (view.vlans[p].mode == PortVlans::Mode::none ||
        !net::needs_vlan_rewrite(which, scratch.vlans, tag)) {
      sent += send_to(view, worker, p, batch, which, stats);
    } else {
      scratch.rewrite.rewrite(batch, which, scratch.vlans, tag);
      stats.drop_vlan.add(scratch.rewrite.dropped());
      sent += send_to(view, worker, p, scratch.rewrite.batch(), scratch.rewrite.all(), stats);
    }
  }
  outputs.clear();
  return sent;
}

}  // namespace

uint32_t forward_batch(const SwitchView& view, unsigned worker, uint16_t in,
                       const net::PacketBatch& batch, ForwardScratch& scratch, WorkerStats& stats) {
  if (view.mode == ForwardingMode::cross_connect) {
    return forward_cross_connect(view, worker, in, batch, stats);
  }
  if (!view.vlans.empty()) return forward_l2_vlans(view, worker, in, batch, scratch, stats);
  return forward_l2(view, worker, in, batch, scratch.outputs, stats);
}

}  // namespace ringlane::dataplane
