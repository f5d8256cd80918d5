#include "ringlane/vhost_user/net_tx.h"

#include <algorithm>
#include <span>

#include "ringlane/vhost_user/span_cursor.h"

namespace ringlane::vhost_user {

namespace {

bool header_is_valid(const virtio::NetHeader& h, uint32_t frame_len) {
  if (h.flags & virtio::kNetHdrFNeedsCsum) {
    if (uint32_t{h.csum_start} + h.csum_offset + 2 > frame_len) return false;
  }
  uint8_t gso = h.gso_type & ~virtio::kNetHdrGsoEcn;
  switch (gso) {
    case virtio::kNetHdrGsoNone:
      return true;
    case virtio::kNetHdrGsoTcpv4:
    case virtio::kNetHdrGsoTcpv6:
    case virtio::kNetHdrGsoUdp:
      // Segmentation needs the checksum request and a segment size.
      return h.gso_size != 0 && (h.flags & virtio::kNetHdrFNeedsCsum);
    default:
      return false;
  }
}

// Drops `hdr_len` bytes from the front of the spans; returns the index of the first data span.
uint32_t strip_header(HostSpan* spans, uint32_t count, uint32_t hdr_len) {
  uint32_t i = 0;
  while (i < count && hdr_len >= spans[i].len) {
    hdr_len -= static_cast<uint32_t>(spans[i].len);
    ++i;
  }
  if (i < count && hdr_len > 0) {
    spans[i].data += hdr_len;
    spans[i].len -= hdr_len;
  }
  return i;
}

}  // namespace

uint16_t dequeue_burst(SplitQueue& queue, const NetFeatures& features, PacketBatch& batch) {
  uint16_t available = queue.avail_count();
  if (available == 0) return 0;
  uint16_t limit = std::min<uint16_t>(available, kBurstSize);
  uint16_t consumed = 0;
  uint16_t added = 0;
  QueueStats& stats = queue.stats();
  while (consumed < limit && batch.has_room()) {
    uint16_t head = queue.head_at(consumed);
    HostSpan* spans = &batch.spans[batch.spans_used];
    ChainWalk walk = queue.walk(head, Access::device_reads, std::span(spans, kMaxPacketSpans));
    if (walk.status != ChainStatus::ok) [[unlikely]] {
      if (is_fatal(walk.status)) {
        queue.mark_broken(walk.status, head);
        break;
      }
      ++consumed;
      queue.put_used(head, 0);
      stats.drop_chain.inc();
      continue;
    }
    ++consumed;
    PacketView& p = batch.packets[batch.count];
    p.hdr = {};
    if (walk.bytes < features.hdr_len) [[unlikely]] {
      queue.put_used(head, 0);
      stats.drop_malformed.inc();
      continue;
    }
    // The header is usually its own descriptor, but a guest may split it anywhere.
    if (spans[0].len >= features.hdr_len) {
      std::memcpy(&p.hdr, spans[0].data, features.hdr_len);
    } else {
      SpanCursor(spans, walk.spans).read(&p.hdr, features.hdr_len);
    }
    auto frame_len = static_cast<uint32_t>(walk.bytes - features.hdr_len);
    if (!header_is_valid(p.hdr, frame_len)) [[unlikely]] {
      queue.put_used(head, 0);
      stats.drop_malformed.inc();
      continue;
    }
    uint32_t first = strip_header(spans, walk.spans, features.hdr_len);
    p.first_span = batch.spans_used + first;
    p.span_count = static_cast<uint16_t>(walk.spans - first);
    p.head = head;
    p.len = frame_len;
    batch.spans_used += walk.spans;
    ++batch.count;
    ++added;
    stats.bytes.add(frame_len);
  }
  queue.consume(consumed);
  stats.packets.add(added);
  if (added) stats.bursts.inc();
  // Dropped chains must reach the used ring even if nothing else in this burst does.
  if (added == 0) queue.publish_used();
  return added;
}

void complete_burst(SplitQueue& queue, const PacketBatch& batch) {
  for (uint16_t i = 0; i < batch.count; ++i) queue.put_used(batch.packets[i].head, 0);
  queue.publish_used();
}

}  // namespace ringlane::vhost_user
