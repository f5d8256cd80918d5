#include "ringlane/net/wire_frame.h"

#include <cstring>

#include "ringlane/net/checksum.h"
#include "ringlane/net/segmentation.h"
#include "ringlane/virtio/span_cursor.h"

namespace ringlane::net {

namespace {

uint32_t copy_spans(const virtio::HostSpan* spans, uint32_t count, uint32_t len,
                    std::span<uint8_t> out) {
  if (len > out.size()) return 0;
  return static_cast<uint32_t>(virtio::SpanCursor(spans, count).read(out.data(), len));
}

// One frame into one buffer, with its partial checksum finished when the header asks.
bool write_one(const virtio::HostSpan* spans, uint32_t count, uint32_t len,
               const virtio::NetHeader& hdr, FrameSink& sink) {
  std::span<uint8_t> out = sink.buffer();
  uint32_t n = copy_spans(spans, count, len, out);
  if (n != len || len == 0) return false;
  if (hdr.flags & virtio::kNetHdrFNeedsCsum) {
    // The field holds the pseudo-header sum the sender put there; summing over it finishes it.
    // Read from our copy: the guest may change its buffer meanwhile.
    virtio::HostSpan copy{out.data(), len};
    uint16_t csum = fold_checksum(ones_complement_sum(&copy, 1, hdr.csum_start, len));
    std::memcpy(out.data() + hdr.csum_start + hdr.csum_offset, &csum, sizeof(csum));
  }
  sink.commit(len);
  return true;
}

}  // namespace

uint32_t copy_plain_frame(const PacketBatch& batch, const PacketView& p, std::span<uint8_t> out) {
  return copy_spans(batch.spans_of(p), p.span_count, p.len, out);
}

WireFrames write_wire_frames(const PacketBatch& batch, const PacketView& p, FrameSink& sink) {
  WireFrames result;
  const virtio::HostSpan* spans = batch.spans_of(p);
  uint8_t gso = p.hdr.gso_type & ~virtio::kNetHdrGsoEcn;
  if (gso == virtio::kNetHdrGsoNone) {
    if ((p.hdr.flags & virtio::kNetHdrFNeedsCsum) &&
        uint32_t{p.hdr.csum_start} + p.hdr.csum_offset + 2 > p.len) {
      result.malformed = true;
      result.dropped = 1;
      return result;
    }
    if (write_one(spans, p.span_count, p.len, p.hdr, sink)) {
      result.frames = 1;
    } else {
      result.dropped = 1;
    }
    return result;
  }
  // UDP fragmentation offload (a guest only asks for it when the host offered it) is not done.
  bool tcp = gso == virtio::kNetHdrGsoTcpv4 || gso == virtio::kNetHdrGsoTcpv6;
  TcpSegmenter segmenter;
  if (!tcp || !segmenter.start(spans, p.span_count, p.len, p.hdr)) {
    result.malformed = true;
    result.dropped = 1;
    return result;
  }
  Segment segment;
  while (segmenter.next(segment)) {
    // Segments carry full checksums already.
    if (write_one(segment.spans, segment.span_count, segment.len, {}, sink)) {
      ++result.frames;
    } else {
      ++result.dropped;
    }
  }
  return result;
}

}  // namespace ringlane::net
