// VlanRewrite: the packets of a burst as one destination port sends them, with an 802.1Q tag
// pushed (to a trunk) or popped (to an access port or a port without VLANs). Nothing is copied:
// a rewritten packet is new spans over the same bytes, with the 4 tag bytes in this object's own
// storage, so the destination still makes its one copy. A worker owns one and reuses it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "ringlane/net/packet_batch.h"
#include "ringlane/net/port_vlans.h"

namespace ringlane::net {

class VlanRewrite {
 public:
  VlanRewrite() : batch_(std::make_unique<PacketBatch>()) {}

  // Builds batch() from packets `which` of `batch`, each of VLAN vlans[i] and tagged on arrival
  // when tagged[i], as they leave a port that tags (tag_egress) or not. Packets that cannot be
  // rewritten (an offload header whose offsets the tag would break, no room for spans) are left
  // out and counted in dropped().
  void rewrite(const PacketBatch& batch, std::span<const uint16_t> which, const FrameVlan* vlans,
               bool tag_egress);
  const PacketBatch& batch() const { return *batch_; }
  // The indices of batch()'s packets: 0..count-1.
  std::span<const uint16_t> all() const;
  uint32_t dropped() const { return dropped_; }

 private:
  std::unique_ptr<PacketBatch> batch_;
  uint8_t tags_[kBurstSize][4] = {};
  uint32_t dropped_ = 0;
};

// Whether any of packets `which` must change to leave through a port that tags (or not).
inline bool needs_vlan_rewrite(std::span<const uint16_t> which, const FrameVlan* vlans,
                               bool tag_egress) {
  for (uint16_t i : which) {
    if (vlans[i].tagged != tag_egress) return true;
  }
  return false;
}

}  // namespace ringlane::net
