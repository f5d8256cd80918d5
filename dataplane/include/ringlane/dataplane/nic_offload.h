// NicOffload: a packet's offload request (its virtio-net header) as a NIC takes it, for ports
// whose device does checksums and TCP segmentation itself (DPDK ethdevs that offer them): what to
// do, and the header lengths the NIC is told. A pure function of the headers, tested on its own.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "ringlane/virtio/spec.h"

namespace ringlane::dataplane {

// A packet's offload request (its virtio-net header) as a NIC takes it: what to do, and the
// header lengths DPDK's mbuf carries for it.
struct NicOffload {
  enum class Checksum : uint8_t { tcp, udp };
  Checksum checksum = Checksum::tcp;  // the L4 checksum the NIC fills in
  bool ipv4 = false;                  // IPv4, else IPv6
  bool segment = false;               // TCP segmentation into segment_size payloads
  uint16_t l2_len = 0;                // Ethernet header and up to two VLAN tags
  uint16_t l3_len = 0;                // IP header, IPv6 extension headers included
  uint16_t l4_len = 0;                // TCP header (set when segmenting)
  uint16_t segment_size = 0;
};

// The offload `hdr` asks of a frame of `frame_len` bytes whose first bytes are `headers` (a copy
// ringlane owns: the source may rewrite its own buffer meanwhile). nullopt when it asks for
// none, or for something a NIC cannot be told: not TCP or UDP over IPv4/IPv6, offsets that
// disagree with the headers, UDP fragmentation, a segment size of 0.
std::optional<NicOffload> plan_nic_offload(std::span<const uint8_t> headers, uint32_t frame_len,
                                           const virtio::NetHeader& hdr);

}  // namespace ringlane::dataplane
