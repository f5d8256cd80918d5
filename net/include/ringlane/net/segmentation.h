// TcpSegmenter: software TSO. Cuts a TCP/IPv4 or TCP/IPv6 GSO frame into MSS-sized frames with
// full checksums, for a receiver that did not negotiate the matching GUEST_TSO feature. The
// payload is never copied here: each segment is a fresh header plus spans into the source.
#pragma once

#include <cstdint>

#include "ringlane/net/packet_batch.h"
#include "ringlane/virtio/guest_memory.h"
#include "ringlane/virtio/spec.h"

namespace ringlane::net {

// A segment ready to copy: spans[0] is the rebuilt header, the rest the payload slice.
struct Segment {
  static constexpr uint32_t kMaxHeader = 256;
  uint8_t header[kMaxHeader];
  virtio::HostSpan spans[kMaxPacketSpans + 1];
  uint32_t span_count = 0;
  uint32_t len = 0;
};

class TcpSegmenter {
 public:
  // A guest asking for more segments than this is treated as malformed, not obeyed.
  static constexpr uint32_t kMaxSegments = 1024;

  // Parses the headers of a GSO frame; false if it is not TCP over IPv4/IPv6 (optionally behind
  // one VLAN tag), its headers do not fit, or it would need too many segments.
  bool start(const virtio::HostSpan* spans, uint32_t span_count, uint32_t len,
             const virtio::NetHeader& hdr);
  // Builds the next segment; false once every payload byte has been emitted.
  bool next(Segment& out);
  uint32_t segment_count() const { return segments_; }

 private:
  const virtio::HostSpan* spans_ = nullptr;
  uint32_t span_count_ = 0;
  uint32_t len_ = 0;
  uint8_t header_[Segment::kMaxHeader];
  uint32_t l3_offset_ = 0;
  uint32_t l4_offset_ = 0;
  uint32_t header_len_ = 0;
  bool ipv6_ = false;
  uint32_t mss_ = 0;
  uint32_t segments_ = 0;
  uint32_t emitted_ = 0;
  // Where the next payload byte is in the source spans.
  uint32_t span_index_ = 0;
  uint64_t span_offset_ = 0;
  uint32_t payload_done_ = 0;
};

}  // namespace ringlane::net
