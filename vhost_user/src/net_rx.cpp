#include "ringlane/vhost_user/net_rx.h"

#include "ringlane/vhost_user/net_checksum.h"
#include "ringlane/vhost_user/span_cursor.h"

namespace ringlane::vhost_user {

namespace {

// Receive buffers gathered for one packet: up to kMaxPacketSpans spans over one or more heads.
struct RxBuffers {
  static constexpr uint32_t kMaxHeads = 64;
  HostSpan spans[kMaxPacketSpans];
  uint32_t span_count = 0;
  uint16_t heads[kMaxHeads];
  uint32_t head_bytes[kMaxHeads];
  uint16_t head_count = 0;
  uint64_t bytes = 0;
};

enum class Gather { ok, no_buffers, too_large, broken };

// Takes heads from `offset` on until `need` bytes fit (one head only without mergeable buffers).
Gather gather(SplitQueue& queue, uint16_t available, uint16_t& offset, uint64_t need,
              bool mergeable, RxBuffers& rx) {
  while (rx.bytes < need) {
    if (offset == available) return Gather::no_buffers;
    if (rx.head_count == RxBuffers::kMaxHeads || (!mergeable && rx.head_count == 1)) {
      return Gather::too_large;
    }
    uint16_t head = queue.head_at(offset);
    std::span<HostSpan> room(rx.spans + rx.span_count, kMaxPacketSpans - rx.span_count);
    ChainWalk walk = queue.walk(head, Access::device_writes, room);
    if (walk.status != ChainStatus::ok) [[unlikely]] {
      if (is_fatal(walk.status)) {
        queue.mark_broken(walk.status, head);
        return Gather::broken;
      }
      return Gather::too_large;
    }
    ++offset;
    rx.heads[rx.head_count] = head;
    rx.head_bytes[rx.head_count] = static_cast<uint32_t>(walk.bytes);
    ++rx.head_count;
    rx.span_count += walk.spans;
    rx.bytes += walk.bytes;
  }
  return Gather::ok;
}

// The header the receiver sees: offloads pass through when it negotiated them.
virtio::NetHeader receive_header(const virtio::NetHeader& src, const NetFeatures& dst,
                                 bool& finish_csum) {
  virtio::NetHeader h{};
  finish_csum = false;
  if (src.flags & virtio::kNetHdrFNeedsCsum) {
    if (dst.guest_csum) {
      h.flags = virtio::kNetHdrFNeedsCsum;
      h.csum_start = src.csum_start;
      h.csum_offset = src.csum_offset;
    } else {
      finish_csum = true;
    }
  }
  uint8_t gso = src.gso_type & ~virtio::kNetHdrGsoEcn;
  if ((gso == virtio::kNetHdrGsoTcpv4 && dst.guest_tso4) ||
      (gso == virtio::kNetHdrGsoTcpv6 && dst.guest_tso6)) {
    h.gso_type = src.gso_type;
    h.gso_size = src.gso_size;
    h.hdr_len = src.hdr_len;
  }
  return h;
}

void write_at(const HostSpan* spans, uint32_t count, uint64_t offset, const void* data,
              uint64_t len) {
  SpanCursor cursor(spans, count);
  cursor.skip(offset);
  cursor.write(data, len);
}

}  // namespace

uint16_t enqueue_burst(SplitQueue& queue, const NetFeatures& features, const PacketBatch& batch,
                       std::span<const uint16_t> which) {
  QueueStats& stats = queue.stats();
  uint16_t available = queue.avail_count();
  uint16_t offset = 0;
  uint16_t delivered = 0;
  uint64_t bytes = 0;
  size_t i = 0;
  for (; i < which.size(); ++i) {
    const PacketView& p = batch.packets[which[i]];
    uint64_t need = features.hdr_len + uint64_t{p.len};
    RxBuffers rx;
    uint16_t start = offset;
    Gather g = gather(queue, available, offset, need, features.mrg_rxbuf, rx);
    if (g != Gather::ok) [[unlikely]] {
      offset = start;  // nothing of this packet reaches the guest
      if (g == Gather::broken) break;
      if (g == Gather::no_buffers) break;
      stats.drop_too_large.inc();
      // A non-mergeable buffer too small for this packet may still fit the next one.
      continue;
    }
    bool finish_csum = false;
    virtio::NetHeader hdr = receive_header(p.hdr, features, finish_csum);
    hdr.num_buffers = rx.head_count;
    SpanCursor out(rx.spans, rx.span_count);
    out.write(&hdr, features.hdr_len);
    const HostSpan* src = batch.spans_of(p);
    for (uint16_t s = 0; s < p.span_count; ++s) out.write(src[s].data, src[s].len);
    if (finish_csum) [[unlikely]] {
      uint16_t csum =
          fold_checksum(ones_complement_sum(src, p.span_count, p.hdr.csum_start, p.len));
      write_at(rx.spans, rx.span_count, features.hdr_len + p.hdr.csum_start + p.hdr.csum_offset,
               &csum, sizeof(csum));
    }
    uint64_t left = need;
    for (uint16_t h = 0; h < rx.head_count; ++h) {
      auto len = static_cast<uint32_t>(left < rx.head_bytes[h] ? left : rx.head_bytes[h]);
      queue.put_used(rx.heads[h], len);
      left -= len;
    }
    ++delivered;
    bytes += p.len;
  }
  if (i < which.size()) stats.drop_no_buffers.add(which.size() - i);
  queue.consume(offset);
  queue.publish_used();
  stats.packets.add(delivered);
  stats.bytes.add(bytes);
  if (delivered) stats.bursts.inc();
  return delivered;
}

}  // namespace ringlane::vhost_user
