#include "ringlane/net/segmentation.h"

#include <cstring>

#include "ringlane/net/checksum.h"
#include "ringlane/net/ethernet.h"
#include "ringlane/virtio/span_cursor.h"

namespace ringlane::net {

namespace {

constexpr uint8_t kTcpFin = 0x01;
constexpr uint8_t kTcpPsh = 0x08;
constexpr uint8_t kTcpCwr = 0x80;

uint32_t load_be32(const uint8_t* p) {
  return uint32_t{load_be16(p)} << 16 | load_be16(p + 2);
}
void store_be32(uint8_t* p, uint32_t v) {
  store_be16(p, static_cast<uint16_t>(v >> 16));
  store_be16(p + 2, static_cast<uint16_t>(v));
}

}  // namespace

bool TcpSegmenter::start(const virtio::HostSpan* spans, uint32_t span_count, uint32_t len,
                         const virtio::NetHeader& hdr) {
  spans_ = spans;
  span_count_ = span_count;
  len_ = len;
  mss_ = hdr.gso_size;
  if (mss_ == 0) return false;
  // Headers are parsed from a private copy: the guest may change its buffer under us.
  uint32_t copied =
      static_cast<uint32_t>(virtio::SpanCursor(spans, span_count)
                                .read(header_, len < sizeof(header_) ? len : sizeof(header_)));
  std::optional<L2Header> l2 = parse_l2(header_, copied, 1);
  if (!l2) return false;
  uint16_t ether_type = l2->ether_type;
  uint32_t off = l2->len;
  l3_offset_ = off;
  if (ether_type == kEtherTypeIpv4) {
    ipv6_ = false;
    if (copied < off + 20 || (header_[off] >> 4) != 4) return false;
    uint32_t ihl = (header_[off] & 0x0f) * 4u;
    if (ihl < 20 || header_[off + 9] != kIpProtoTcp) return false;
    l4_offset_ = off + ihl;
  } else if (ether_type == kEtherTypeIpv6) {
    ipv6_ = true;
    // Extension headers are not followed: TSO senders put TCP right after the fixed header.
    if (copied < off + 40 || (header_[off] >> 4) != 6 || header_[off + 6] != kIpProtoTcp)
      return false;
    l4_offset_ = off + 40;
  } else {
    return false;
  }
  if (copied < l4_offset_ + 20) return false;
  uint32_t tcp_len = (header_[l4_offset_ + 12] >> 4) * 4u;
  if (tcp_len < 20) return false;
  header_len_ = l4_offset_ + tcp_len;
  if (header_len_ > copied || header_len_ >= len) return false;
  uint32_t payload = len - header_len_;
  segments_ = (payload + mss_ - 1) / mss_;
  if (segments_ == 0 || segments_ > kMaxSegments) return false;
  emitted_ = 0;
  payload_done_ = 0;
  // Position the payload cursor just past the headers.
  span_index_ = 0;
  span_offset_ = 0;
  uint64_t skip = header_len_;
  while (span_index_ < span_count_ && skip >= spans_[span_index_].len) {
    skip -= spans_[span_index_].len;
    ++span_index_;
  }
  span_offset_ = skip;
  return true;
}

bool TcpSegmenter::next(Segment& out) {
  if (emitted_ == segments_) return false;
  uint32_t payload_total = len_ - header_len_;
  uint32_t seg_payload =
      payload_total - payload_done_ < mss_ ? payload_total - payload_done_ : mss_;
  bool first = emitted_ == 0;
  bool last = emitted_ + 1 == segments_;

  uint8_t* h = out.header;
  std::memcpy(h, header_, header_len_);
  uint32_t l3 = l3_offset_, l4 = l4_offset_;
  uint32_t tcp_len = header_len_ - l4 + seg_payload;
  uint32_t pseudo = 0;
  if (!ipv6_) {
    store_be16(h + l3 + 2, static_cast<uint16_t>(header_len_ - l3 + seg_payload));
    store_be16(h + l3 + 4, static_cast<uint16_t>(load_be16(header_ + l3 + 4) + emitted_));
    store_be16(h + l3 + 10, 0);
    virtio::HostSpan ip{h + l3, l4 - l3};
    uint16_t ip_csum = fold_checksum(ones_complement_sum(&ip, 1, 0, ip.len));
    std::memcpy(h + l3 + 10, &ip_csum, 2);
    virtio::HostSpan addrs{h + l3 + 12, 8};
    pseudo = ones_complement_sum(&addrs, 1, 0, 8);
  } else {
    store_be16(h + l3 + 4, static_cast<uint16_t>(tcp_len));
    virtio::HostSpan addrs{h + l3 + 8, 32};
    pseudo = ones_complement_sum(&addrs, 1, 0, 32);
  }
  // Pseudo-header length and protocol, in network order like the rest of the sum.
  uint8_t tail[4];
  store_be16(tail, static_cast<uint16_t>(tcp_len));
  store_be16(tail + 2, kIpProtoTcp);
  virtio::HostSpan tail_span{tail, 4};
  pseudo = ones_complement_sum(&tail_span, 1, 0, 4, pseudo);

  store_be32(h + l4 + 4, load_be32(header_ + l4 + 4) + payload_done_);
  uint8_t flags = header_[l4 + 13];
  if (!last) flags &= static_cast<uint8_t>(~(kTcpFin | kTcpPsh));
  if (!first) flags &= static_cast<uint8_t>(~kTcpCwr);
  h[l4 + 13] = flags;
  store_be16(h + l4 + 16, 0);

  out.spans[0] = virtio::HostSpan{h, header_len_};
  out.span_count = 1;
  uint32_t want = seg_payload;
  while (want > 0 && span_index_ < span_count_ && out.span_count <= kMaxPacketSpans) {
    const virtio::HostSpan& s = spans_[span_index_];
    uint64_t avail = s.len - span_offset_;
    uint32_t take = want < avail ? want : static_cast<uint32_t>(avail);
    out.spans[out.span_count++] = virtio::HostSpan{s.data + span_offset_, take};
    want -= take;
    span_offset_ += take;
    if (span_offset_ == s.len) {
      ++span_index_;
      span_offset_ = 0;
    }
  }
  if (want > 0) return false;  // the spans ran out before the length said: nothing more to emit
  out.len = header_len_ + seg_payload;
  uint16_t tcp_csum =
      fold_checksum(ones_complement_sum(out.spans, out.span_count, l4, out.len, pseudo));
  std::memcpy(h + l4 + 16, &tcp_csum, 2);
  payload_done_ += seg_payload;
  ++emitted_;
  return true;
}

}  // namespace ringlane::net
