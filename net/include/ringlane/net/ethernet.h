// Ethernet framing as ringlane reads it from frames it did not make: the EtherTypes and IP
// protocol numbers it acts on, big-endian loads, and the L2 header with its VLAN tags.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

namespace ringlane::net {

inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeArp = 0x0806;
inline constexpr uint16_t kEtherTypeIpv6 = 0x86dd;
inline constexpr uint16_t kEtherTypeVlan = 0x8100;  // 802.1Q
inline constexpr uint16_t kEtherTypeQinQ = 0x88a8;  // 802.1ad
inline constexpr uint8_t kIpProtoTcp = 6;
inline constexpr uint8_t kIpProtoUdp = 17;
// Where the checksum field lies from the start of the L4 header (a virtio csum_offset).
inline constexpr uint16_t kTcpChecksumOffset = 16;
inline constexpr uint16_t kUdpChecksumOffset = 6;
inline constexpr size_t kEthernetHeaderLen = 14;
inline constexpr size_t kVlanTagLen = 4;

inline uint16_t load_be16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
inline void store_be16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

// The L2 header of a frame: the EtherType after the tags, and where the L3 header starts.
struct L2Header {
  uint16_t ether_type = 0;
  uint16_t len = kEthernetHeaderLen;
  uint8_t tags = 0;
};

// Parses the Ethernet header and up to `max_tags` VLAN tags (802.1Q or 802.1ad) from the first
// `have` bytes of a frame; nullopt when they are cut short.
inline std::optional<L2Header> parse_l2(const uint8_t* bytes, size_t have, int max_tags) {
  if (have < kEthernetHeaderLen) return std::nullopt;
  L2Header h;
  h.ether_type = load_be16(bytes + 12);
  while (h.tags < max_tags && (h.ether_type == kEtherTypeVlan || h.ether_type == kEtherTypeQinQ)) {
    if (have < h.len + kVlanTagLen) return std::nullopt;
    h.ether_type = load_be16(bytes + h.len + 2);
    h.len = static_cast<uint16_t>(h.len + kVlanTagLen);
    ++h.tags;
  }
  return h;
}

}  // namespace ringlane::net
