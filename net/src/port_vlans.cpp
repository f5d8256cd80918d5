#include "ringlane/net/port_vlans.h"

#include "ringlane/virtio/span_cursor.h"

namespace ringlane::net {

PortVlans PortVlans::from(uint16_t access_vlan, const std::vector<uint16_t>& trunk_vlans) {
  PortVlans v;
  if (access_vlan != 0) {
    v.mode = Mode::access;
    v.access = access_vlan;
  } else if (!trunk_vlans.empty()) {
    v.mode = Mode::trunk;
    for (uint16_t id : trunk_vlans) {
      if (id > 0 && id < 4096) v.trunk.set(id);
    }
  }
  return v;
}

std::optional<FrameVlan> ingress_vlan(const PortVlans& vlans, const PacketBatch& batch,
                                      const PacketView& p) {
  if (p.len < 14) return std::nullopt;
  const virtio::HostSpan* spans = batch.spans_of(p);
  uint8_t header[16];
  const uint8_t* h = spans[0].data;
  if (spans[0].len < sizeof(header)) {
    virtio::SpanCursor(spans, p.span_count).read(header, p.len < 16 ? p.len : 16);
    h = header;
  }
  uint16_t ether_type = load_be16(h + 12);
  bool tagged = ether_type == kEtherTypeVlan || ether_type == kEtherTypeQinQ;
  switch (vlans.mode) {
    case PortVlans::Mode::none:
      return FrameVlan{0, tagged};
    case PortVlans::Mode::access:
      if (tagged) return std::nullopt;
      return FrameVlan{vlans.access, false};
    case PortVlans::Mode::trunk: {
      if (ether_type != kEtherTypeVlan || p.len < 18) return std::nullopt;
      auto vid = static_cast<uint16_t>(load_be16(h + 14) & 0xfff);
      if (!vlans.carries(vid)) return std::nullopt;
      return FrameVlan{vid, true};
    }
  }
  return std::nullopt;
}

}  // namespace ringlane::net
