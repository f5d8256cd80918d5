#include "ringlane/dataplane/nic_offload.h"

#include <algorithm>

#include "ringlane/net/ethernet.h"

namespace ringlane::dataplane {

std::optional<NicOffload> plan_nic_offload(std::span<const uint8_t> headers, uint32_t frame_len,
                                           const virtio::NetHeader& hdr) {
  bool csum = (hdr.flags & virtio::kNetHdrFNeedsCsum) != 0;
  uint8_t gso = hdr.gso_type & ~virtio::kNetHdrGsoEcn;
  if (!csum && gso == virtio::kNetHdrGsoNone) return std::nullopt;
  if (gso != virtio::kNetHdrGsoNone && gso != virtio::kNetHdrGsoTcpv4 &&
      gso != virtio::kNetHdrGsoTcpv6) {
    return std::nullopt;  // UDP fragmentation (UFO): no NIC offload takes it
  }
  size_t have = std::min<size_t>(headers.size(), frame_len);
  NicOffload plan;
  // Ethernet, then up to two VLAN tags.
  std::optional<net::L2Header> eth = net::parse_l2(headers.data(), have, 2);
  if (!eth) return std::nullopt;
  size_t l2 = eth->len;
  uint16_t type = eth->ether_type;
  uint8_t proto = 0;
  size_t l3 = 0;
  if (type == net::kEtherTypeIpv4) {
    if (have < l2 + 20 || headers[l2] >> 4 != 4) return std::nullopt;
    l3 = size_t{headers[l2] & 0x0fU} * 4;
    if (l3 < 20) return std::nullopt;
    proto = headers[l2 + 9];
    plan.ipv4 = true;
  } else if (type == net::kEtherTypeIpv6) {
    if (have < l2 + 40 || headers[l2] >> 4 != 6) return std::nullopt;
    // Extension headers lie between the fixed header and csum_start; without a checksum request
    // the L4 header must follow the fixed header.
    l3 = csum ? size_t{hdr.csum_start} - std::min<size_t>(hdr.csum_start, l2) : 40;
    if (l3 < 40) return std::nullopt;
    proto = csum ? 0 : headers[l2 + 6];
  } else {
    return std::nullopt;
  }
  if (csum) {
    if (hdr.csum_start != l2 + l3) return std::nullopt;
    if (uint32_t{hdr.csum_start} + hdr.csum_offset + 2 > frame_len) return std::nullopt;
    if (hdr.csum_offset == net::kTcpChecksumOffset && (proto == net::kIpProtoTcp || proto == 0)) {
      plan.checksum = NicOffload::Checksum::tcp;
    } else if (hdr.csum_offset == net::kUdpChecksumOffset &&
               (proto == net::kIpProtoUdp || proto == 0)) {
      plan.checksum = NicOffload::Checksum::udp;
    } else {
      return std::nullopt;
    }
  } else if (proto != net::kIpProtoTcp) {
    return std::nullopt;  // segmentation without a checksum request: TCP headers must follow
  }
  plan.l2_len = static_cast<uint16_t>(l2);
  plan.l3_len = static_cast<uint16_t>(l3);
  if (gso != virtio::kNetHdrGsoNone) {
    if (plan.checksum != NicOffload::Checksum::tcp || plan.ipv4 != (gso == virtio::kNetHdrGsoTcpv4))
      return std::nullopt;
    size_t l4_at = l2 + l3;
    if (have < l4_at + 20) return std::nullopt;
    size_t l4 = size_t{headers[l4_at + 12]} >> 4 << 2;
    if (l4 < 20 || l4_at + l4 > frame_len || hdr.gso_size == 0) return std::nullopt;
    plan.segment = true;
    plan.l4_len = static_cast<uint16_t>(l4);
    plan.segment_size = hdr.gso_size;
  }
  return plan;
}

}  // namespace ringlane::dataplane
