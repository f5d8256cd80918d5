#include "ringlane/net/rx.h"

#include <algorithm>
#include <cstring>

#include "ring_kinds.h"
#include "ringlane/net/checksum.h"
#include "ringlane/net/segmentation.h"
#include "ringlane/virtio/span_cursor.h"

namespace ringlane::net {

namespace {

// Receive buffers gathered for one packet: up to kMaxPacketSpans spans over one or more heads.
struct RxBuffers {
  static constexpr uint32_t kMaxHeads = 64;
  virtio::HostSpan spans[kMaxPacketSpans];
  uint32_t span_count = 0;
  uint16_t heads[kMaxHeads];
  uint32_t head_bytes[kMaxHeads];
  uint16_t head_count = 0;
  uint64_t bytes = 0;
};

enum class Gather { ok, no_buffers, too_large, broken };

// Receive heads walked before the copies start, so that every destination buffer of the burst
// is on its way into the cache while the frames in front of it are copied. A head with more
// spans than fit here is walked again when it is used.
struct WalkedHeads {
  static constexpr uint32_t kSpans = 2;
  struct Head {
    virtio::ChainWalk walk;
    virtio::HostSpan spans[kSpans];
  };
  Head heads[kBurstSize];
  uint16_t count = 0;

  // Walks the next `n` heads; head i will most likely take frame i, whose size (header
  // included) frame_bytes(i) gives: only the lines it will write are prefetched.
  template <typename Queue, typename FrameBytes>
  void walk_ahead(const Queue& queue, uint16_t n, FrameBytes frame_bytes) {
    count = n;
    for (uint16_t i = 0; i < n; ++i) queue.prefetch_desc(queue.head_at(i));
    for (uint16_t i = 0; i < n; ++i) {
      Head& h = heads[i];
      h.walk = queue.walk(queue.head_at(i), virtio::Access::device_writes, h.spans);
      // A chain of zero-length descriptors walks fine and yields no span at all.
      if (h.walk.status == virtio::ChainStatus::ok && h.walk.spans != 0) {
        prefetch_write(h.spans[0].data,
                       std::min<uint64_t>({h.spans[0].len, frame_bytes(i), kFramePrefetchBytes}));
      }
    }
  }
  // The walk of the head `offset` places into the burst, when it was walked ahead and fits.
  const Head* find(uint16_t offset) const {
    if (offset >= count || heads[offset].walk.status == virtio::ChainStatus::too_many_segments) {
      return nullptr;
    }
    return &heads[offset];
  }
};

// Takes heads from `offset` on until `need` bytes fit (one head only without mergeable buffers).
// `available` grows when a packed ring is scanned further.
template <typename Queue>
Gather gather(Queue& queue, const WalkedHeads& ahead, uint16_t& available, uint16_t& offset,
              uint64_t need, bool mergeable, RxBuffers& rx) {
  while (rx.bytes < need) {
    // Checked before running out of heads: a frame no buffer can hold is too large, not short
    // of buffers (which would also drop every frame after it).
    if (rx.head_count == RxBuffers::kMaxHeads || (!mergeable && rx.head_count == 1)) {
      return Gather::too_large;
    }
    if (offset == available && !detail::find_more_chains(queue, available)) {
      return Gather::no_buffers;
    }
    uint16_t head = queue.head_at(offset);
    std::span<virtio::HostSpan> room(rx.spans + rx.span_count, kMaxPacketSpans - rx.span_count);
    virtio::ChainWalk walk;
    if (const WalkedHeads::Head* h = ahead.find(offset);
        h != nullptr &&
        (h->walk.status != virtio::ChainStatus::ok || h->walk.spans <= room.size())) {
      walk = h->walk;
      if (walk.status == virtio::ChainStatus::ok) std::copy_n(h->spans, walk.spans, room.begin());
    } else {
      walk = queue.walk(head, virtio::Access::device_writes, room);
    }
    if (walk.status != virtio::ChainStatus::ok) [[unlikely]] {
      if (virtio::is_fatal(walk.status)) {
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

// The header the receiver sees: offloads pass through when it negotiated them. (always_inline
// here and below: these were inlined into their one caller before both ring kinds shared them,
// and the split path is to compile as it did.)
[[gnu::always_inline]] inline virtio::NetHeader receive_header(const virtio::NetHeader& src,
                                                               const NetFeatures& dst,
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

[[gnu::always_inline]] inline void write_at(const virtio::HostSpan* spans, uint32_t count,
                                            uint64_t offset, const void* data, uint64_t len) {
  virtio::SpanCursor cursor(spans, count);
  cursor.skip(offset);
  cursor.write(data, len);
}

// One frame as the receiver will get it: frame bytes and the sender's offload request.
struct Frame {
  const virtio::HostSpan* spans;
  uint32_t span_count;
  uint32_t len;
  virtio::NetHeader hdr;
};

// The receive side of one burst: which heads are still free for the frames that follow.
template <typename Queue>
struct Receiver {
  // A constructor rather than aggregate initialisation: `ahead` is filled by walk_ahead(), and
  // zeroing its tables on every burst would be wasted work.
  Receiver(Queue& q, const NetFeatures& f, uint16_t avail)
      : queue(q), features(f), available(avail) {}

  Queue& queue;
  const NetFeatures& features;
  uint16_t available;
  uint16_t offset = 0;
  WalkedHeads ahead;
};

// Copies one frame into the guest's buffers and queues its used elements.
template <typename Queue>
Gather deliver(Receiver<Queue>& r, const Frame& f) {
  uint64_t need = r.features.hdr_len + uint64_t{f.len};
  RxBuffers rx;
  uint16_t start = r.offset;
  Gather g = gather(r.queue, r.ahead, r.available, r.offset, need, r.features.mrg_rxbuf, rx);
  if (g != Gather::ok) [[unlikely]] {
    r.offset = start;  // nothing of this frame reaches the guest
    return g;
  }
  bool finish_csum = false;
  virtio::NetHeader hdr = receive_header(f.hdr, r.features, finish_csum);
  hdr.num_buffers = rx.head_count;
  virtio::SpanCursor out(rx.spans, rx.span_count);
  out.write(&hdr, r.features.hdr_len);
  for (uint32_t s = 0; s < f.span_count; ++s) out.write(f.spans[s].data, f.spans[s].len);
  if (finish_csum) [[unlikely]] {
    uint16_t csum =
        fold_checksum(ones_complement_sum(f.spans, f.span_count, f.hdr.csum_start, f.len));
    write_at(rx.spans, rx.span_count, r.features.hdr_len + f.hdr.csum_start + f.hdr.csum_offset,
             &csum, sizeof(csum));
  }
  r.queue.log_written(rx.spans, rx.span_count, need);
  uint64_t left = need;
  for (uint16_t h = 0; h < rx.head_count; ++h) {
    auto len = static_cast<uint32_t>(left < rx.head_bytes[h] ? left : rx.head_bytes[h]);
    r.queue.put_used(rx.heads[h], len);
    left -= len;
  }
  return Gather::ok;
}

// The common case, without the general machinery: a frame in one span, no offload request, and
// a receive head walked ahead whose first buffer holds header and frame. False when any of that
// does not hold; then nothing was written.
template <typename Queue>
bool deliver_simple(Receiver<Queue>& r, const PacketView& p, const virtio::HostSpan* src) {
  const WalkedHeads::Head* h = r.ahead.find(r.offset);
  uint32_t hdr_len = r.features.hdr_len;
  if (h == nullptr || h->walk.status != virtio::ChainStatus::ok || h->walk.spans == 0 ||
      p.span_count != 1 || p.hdr.flags != 0 || p.hdr.gso_type != virtio::kNetHdrGsoNone ||
      h->spans[0].len < uint64_t{hdr_len} + p.len) {
    return false;
  }
  virtio::NetHeader hdr{};
  hdr.num_buffers = 1;
  uint8_t* dst = h->spans[0].data;
  if (hdr_len == sizeof(hdr)) {
    std::memcpy(dst, &hdr, sizeof(hdr));
  } else {
    std::memcpy(dst, &hdr, 10);
  }
  // memmove: one VM behind two ports can make source and destination overlap.
  std::memmove(dst + hdr_len, src[0].data, p.len);
  r.queue.log_written(h->spans, 1, hdr_len + p.len);
  r.queue.put_used(r.queue.head_at(r.offset), hdr_len + p.len);
  ++r.offset;
  return true;
}

bool needs_segmentation(const virtio::NetHeader& h, const NetFeatures& dst) {
  uint8_t gso = h.gso_type & ~virtio::kNetHdrGsoEcn;
  if (gso == virtio::kNetHdrGsoNone) return false;
  return !((gso == virtio::kNetHdrGsoTcpv4 && dst.guest_tso4) ||
           (gso == virtio::kNetHdrGsoTcpv6 && dst.guest_tso6));
}

struct Delivered {
  Gather status;
  uint32_t frames;
  uint64_t bytes;
};

// Software TSO: one GSO frame becomes several ordinary ones, each copied once.
template <typename Queue>
Delivered deliver_segments(Receiver<Queue>& r, const Frame& f) {
  TcpSegmenter segmenter;
  if (!segmenter.start(f.spans, f.span_count, f.len, f.hdr)) {
    r.queue.stats().drop_malformed.inc();
    return {Gather::ok, 0, 0};
  }
  Segment segment;
  Delivered d{Gather::ok, 0, 0};
  while (segmenter.next(segment)) {
    Gather g = deliver(r, Frame{segment.spans, segment.span_count, segment.len, {}});
    if (g != Gather::ok) {
      d.status = g;
      r.queue.stats().drop_no_buffers.add(segmenter.segment_count() - d.frames);
      return d;
    }
    ++d.frames;
    d.bytes += segment.len;
  }
  return d;
}

// The burst for either ring kind; see enqueue_burst().
template <typename Queue>
[[gnu::always_inline]] inline uint16_t enqueue(Queue& queue, const NetFeatures& features,
                                               const PacketBatch& batch,
                                               std::span<const uint16_t> which) {
  virtio::QueueStats& stats = queue.stats();
  // The ring lines this burst will most likely use, loaded together with the avail index
  // rather than after it (one head per frame is the common case).
  auto expected = static_cast<uint16_t>(std::min<size_t>(which.size(), kBurstSize));
  queue.prefetch_avail_slots(expected);
  queue.prefetch_used_slots(expected);
  queue.prefetch_next_descs(expected);
  Receiver<Queue> r{queue, features, detail::chains_available(queue, expected)};
  r.ahead.walk_ahead(
      queue, static_cast<uint16_t>(std::min<size_t>({r.available, which.size(), kBurstSize})),
      [&](uint16_t i) { return uint64_t{features.hdr_len} + batch.packets[which[i]].len; });
  uint16_t delivered = 0;
  uint32_t frames = 0;
  uint64_t bytes = 0;
  size_t i = 0;
  for (; i < which.size(); ++i) {
    const PacketView& p = batch.packets[which[i]];
    if (deliver_simple(r, p, batch.spans_of(p))) [[likely]] {
      ++delivered;
      ++frames;
      bytes += p.len;
      continue;
    }
    Frame f{batch.spans_of(p), p.span_count, p.len, p.hdr};
    if (needs_segmentation(p.hdr, features)) [[unlikely]] {
      Delivered d = deliver_segments(r, f);
      frames += d.frames;
      bytes += d.bytes;
      if (d.status != Gather::ok) {
        ++i;  // counted inside, segment by segment
        break;
      }
      ++delivered;
      continue;
    }
    Gather g = deliver(r, f);
    if (g == Gather::too_large) [[unlikely]] {
      stats.drop_too_large.inc();
      continue;  // a non-mergeable buffer too small for this frame may still fit the next
    }
    if (g != Gather::ok) break;
    ++delivered;
    ++frames;
    bytes += p.len;
  }
  if (i < which.size()) {
    if (queue.broken()) {
      stats.drop_queue_down.add(which.size() - i);
    } else {
      stats.drop_no_buffers.add(which.size() - i);
    }
  }
  queue.consume(r.offset);
  queue.publish_used();
  stats.packets.add(frames);
  stats.bytes.add(bytes);
  if (frames) stats.bursts.inc();
  return delivered;
}

}  // namespace

uint16_t enqueue_burst(virtio::SplitQueue& queue, const NetFeatures& features,
                       const PacketBatch& batch, std::span<const uint16_t> which) {
  return enqueue(queue, features, batch, which);
}

uint16_t enqueue_burst(virtio::PackedQueue& queue, const NetFeatures& features,
                       const PacketBatch& batch, std::span<const uint16_t> which) {
  return enqueue(queue, features, batch, which);
}

}  // namespace ringlane::net
