// PortVlans: which 802.1Q VLANs a switch port carries, and how. A port without VLANs (the default)
// belongs to VLAN 0, ringlane's untagged domain, and its frames pass as they are, tagged or not;
// an access port carries one VLAN, untagged on the port; a trunk carries its VLANs tagged.
// Classifying a frame as it enters (ingress_vlan) and deciding where it may leave (carries) keep
// VLANs apart even if the MAC table were wrong.
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <vector>

#include "ringlane/net/ethernet.h"
#include "ringlane/net/packet_batch.h"

namespace ringlane::net {

struct PortVlans {
  enum class Mode : uint8_t { none, access, trunk };
  Mode mode = Mode::none;
  uint16_t access = 0;      // Mode::access
  std::bitset<4096> trunk;  // Mode::trunk

  static PortVlans from(uint16_t access_vlan, const std::vector<uint16_t>& trunk_vlans);
  // Whether a frame of VLAN `vid` (0: the untagged domain) may leave through this port.
  bool carries(uint16_t vid) const {
    switch (mode) {
      case Mode::none:
        return vid == 0;
      case Mode::access:
        return vid == access;
      case Mode::trunk:
        return vid != 0 && trunk.test(vid);
    }
    return false;
  }
  // Frames leave a trunk tagged, an access port untagged; a port without VLANs as they came.
  bool tags_egress() const { return mode == Mode::trunk; }
  // The tag a frame of VLAN `vid` carries on this port's wire (0: untagged), or nothing when the
  // port does not carry that VLAN; what an uplink steers a learned station's frames under.
  std::optional<uint16_t> wire_vlan(uint16_t vid) const {
    if (vid >= 4096 || !carries(vid)) return std::nullopt;
    return tags_egress() ? vid : uint16_t{0};
  }
};

// A frame's VLAN as the switch sees it: its VLAN id and whether it carried a tag on arrival.
struct FrameVlan {
  uint16_t vid = 0;
  bool tagged = false;
};

// The VLAN of a frame entering through a port with `vlans`, or nothing when the port refuses it
// (a tagged frame on an access port, an untagged one or a VLAN not in the set on a trunk). Frames
// too short for an Ethernet header are refused too.
std::optional<FrameVlan> ingress_vlan(const PortVlans& vlans, const PacketBatch& batch,
                                      const PacketView& p);

}  // namespace ringlane::net
