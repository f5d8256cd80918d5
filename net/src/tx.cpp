#include "ringlane/net/tx.h"

#include <algorithm>
#include <cstring>
#include <span>

#include "ring_kinds.h"
#include "ringlane/virtio/span_cursor.h"

namespace ringlane::net {

namespace {

// always_inline here and below: these were inlined into their one caller before both ring kinds
// shared them, and the split path is to compile as it did.
[[gnu::always_inline]] inline bool header_is_valid(const virtio::NetHeader& h, uint32_t frame_len) {
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
[[gnu::always_inline]] inline uint32_t strip_header(virtio::HostSpan* spans, uint32_t count,
                                                    uint32_t hdr_len) {
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

// Returns every buffer of the burst in one used-ring update; see complete_burst().
template <typename Queue>
[[gnu::always_inline]] inline void complete(Queue& queue, const PacketBatch& batch) {
  for (uint16_t i = 0; i < batch.source_head_count; ++i) queue.put_used(batch.source_heads[i], 0);
  queue.publish_used();
}

// The burst for either ring kind; see dequeue_burst(). Three passes over the burst so that its
// cache misses overlap instead of queueing one behind the other: the driver wrote the ring and
// the frames on another core, so each first touch is a cross-core transfer. Pass 1 reads the heads
// and prefetches their descriptors (already on their way if they follow the last burst's), pass 2
// walks the chains and prefetches each frame's first lines, pass 3 reads and checks the headers.
// Without checksum offload (and so without TSO) a driver must send a header with no request in it:
// then it is not read at all, which saves a cache line per frame when the header sits on a line of
// its own.
template <typename Queue>
[[gnu::always_inline]] inline uint16_t dequeue(Queue& queue, const NetFeatures& features,
                                               PacketBatch& batch) {
  uint16_t available =
      detail::chains_available(queue, static_cast<uint16_t>(kBurstSize - batch.source_head_count));
  if (available == 0) return 0;
  auto limit =
      static_cast<uint16_t>(std::min<uint32_t>(available, kBurstSize - batch.source_head_count));
  queue.prefetch_next_descs(limit);  // most likely where the heads will point
  queue.prefetch_used_slots(limit);  // written when the burst completes
  uint16_t heads[kBurstSize];
  for (uint16_t i = 0; i < limit; ++i) {
    heads[i] = queue.head_at(i);
    queue.prefetch_desc(heads[i]);
  }
  virtio::QueueStats& stats = queue.stats();
  const bool read_headers = features.host_csum;
  const uint8_t* header_at[kBurstSize];  // per packet of this burst, when read_headers
  uint16_t consumed = 0;
  uint16_t first_new = batch.count;
  while (consumed < limit && batch.has_room()) {
    uint16_t head = heads[consumed];
    virtio::HostSpan* spans = &batch.spans[batch.spans_used];
    virtio::ChainWalk walk =
        queue.walk(head, virtio::Access::device_reads, std::span(spans, kMaxPacketSpans));
    if (walk.status != virtio::ChainStatus::ok) [[unlikely]] {
      if (virtio::is_fatal(walk.status)) {
        queue.mark_broken(walk.status, head);
        break;
      }
      ++consumed;
      batch.source_heads[batch.source_head_count++] = head;
      stats.drop_chain.inc();
      continue;
    }
    ++consumed;
    batch.source_heads[batch.source_head_count++] = head;
    if (walk.bytes < features.hdr_len) [[unlikely]] {
      stats.drop_malformed.inc();
      continue;
    }
    PacketView& p = batch.packets[batch.count];
    p.hdr = {};
    if (read_headers) {
      if (spans[0].len >= features.hdr_len) {
        header_at[batch.count - first_new] = spans[0].data;
        prefetch_read(spans[0].data, features.hdr_len);
      } else {
        // Split across descriptors (unusual): read now, the slow way.
        header_at[batch.count - first_new] = nullptr;
        virtio::SpanCursor(spans, walk.spans).read(&p.hdr, features.hdr_len);
      }
    }
    uint32_t first = strip_header(spans, walk.spans, features.hdr_len);
    if (first < walk.spans) {
      prefetch_read(spans[first].data, std::min<uint64_t>(spans[first].len, kFramePrefetchBytes));
    }
    p.first_span = batch.spans_used + first;
    p.span_count = static_cast<uint16_t>(walk.spans - first);
    p.head = head;
    p.len = static_cast<uint32_t>(walk.bytes - features.hdr_len);
    batch.spans_used += walk.spans;
    ++batch.count;
  }
  queue.consume(consumed);
  uint16_t kept = batch.count;
  if (read_headers) {
    kept = first_new;
    for (uint16_t i = first_new; i < batch.count; ++i) {
      PacketView& p = batch.packets[i];
      if (const uint8_t* h = header_at[i - first_new]) std::memcpy(&p.hdr, h, features.hdr_len);
      if (!header_is_valid(p.hdr, p.len)) [[unlikely]] {
        stats.drop_malformed.inc();
        continue;
      }
      if (kept != i) batch.packets[kept] = p;
      ++kept;
    }
    batch.count = kept;
  }
  uint64_t bytes = 0;
  for (uint16_t i = first_new; i < kept; ++i) bytes += batch.packets[i].len;
  auto added = static_cast<uint16_t>(kept - first_new);
  stats.packets.add(added);
  stats.bytes.add(bytes);
  if (added) stats.bursts.inc();
  // Dropped chains must reach the used ring even if nothing else in this burst does.
  if (added == 0 && batch.source_head_count != 0) {
    complete_burst(queue, batch);
    batch.source_head_count = 0;
  }
  return added;
}

}  // namespace

uint16_t dequeue_burst(virtio::SplitQueue& queue, const NetFeatures& features, PacketBatch& batch) {
  return dequeue(queue, features, batch);
}

uint16_t dequeue_burst(virtio::PackedQueue& queue, const NetFeatures& features,
                       PacketBatch& batch) {
  return dequeue(queue, features, batch);
}

void complete_burst(virtio::SplitQueue& queue, const PacketBatch& batch) {
  complete(queue, batch);
}

void complete_burst(virtio::PackedQueue& queue, const PacketBatch& batch) {
  complete(queue, batch);
}

}  // namespace ringlane::net
