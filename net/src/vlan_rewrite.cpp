#include "ringlane/net/vlan_rewrite.h"

namespace ringlane::net {

namespace {

constexpr uint16_t kIndices[kBurstSize] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                                           11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
                                           22, 23, 24, 25, 26, 27, 28, 29, 30, 31};

// Appends to `out` the spans covering bytes [from, to) of `spans`; false when `out` is full.
bool append_range(const virtio::HostSpan* spans, uint32_t count, uint64_t from, uint64_t to,
                  PacketBatch& out) {
  uint64_t at = 0;
  for (uint32_t i = 0; i < count && at < to; ++i) {
    uint64_t begin = at, end = at + spans[i].len;
    at = end;
    if (end <= from) continue;
    uint64_t lo = from > begin ? from : begin;
    uint64_t hi = to < end ? to : end;
    if (hi <= lo) continue;
    if (out.spans_used == PacketBatch::kSpanCapacity) return false;
    out.spans[out.spans_used++] = {spans[i].data + (lo - begin), hi - lo};
  }
  return true;
}

}  // namespace

std::span<const uint16_t> VlanRewrite::all() const {
  return {kIndices, batch_->count};
}

void VlanRewrite::rewrite(const PacketBatch& batch, std::span<const uint16_t> which,
                          const FrameVlan* vlans, bool tag_egress) {
  PacketBatch& out = *batch_;
  out.clear();
  dropped_ = 0;
  for (uint16_t i : which) {
    const PacketView& p = batch.packets[i];
    const virtio::HostSpan* spans = batch.spans_of(p);
    PacketView q = p;
    q.first_span = out.spans_used;
    bool ok = true;
    bool checksum = (p.hdr.flags & virtio::kNetHdrFNeedsCsum) != 0;
    if (vlans[i].tagged == tag_egress) {
      ok = append_range(spans, p.span_count, 0, p.len, out);
    } else if (tag_egress) {
      // Push: addresses, then the tag, then the rest from the EtherType on.
      uint8_t* tag = tags_[out.count];
      tag[0] = kEtherTypeVlan >> 8;
      tag[1] = kEtherTypeVlan & 0xff;
      tag[2] = static_cast<uint8_t>(vlans[i].vid >> 8);
      tag[3] = static_cast<uint8_t>(vlans[i].vid);
      ok = append_range(spans, p.span_count, 0, 12, out);
      if (ok && out.spans_used < PacketBatch::kSpanCapacity) {
        out.spans[out.spans_used++] = {tag, 4};
      } else {
        ok = false;
      }
      ok = ok && append_range(spans, p.span_count, 12, p.len, out);
      q.len = p.len + 4;
      if (checksum) q.hdr.csum_start = static_cast<uint16_t>(q.hdr.csum_start + 4);
      if (q.hdr.gso_type != virtio::kNetHdrGsoNone)
        q.hdr.hdr_len = static_cast<uint16_t>(q.hdr.hdr_len + 4);
    } else {
      // Pop: addresses, then everything after the 4 tag bytes.
      ok = p.len >= 18 && (!checksum || p.hdr.csum_start >= 18) &&
           append_range(spans, p.span_count, 0, 12, out) &&
           append_range(spans, p.span_count, 16, p.len, out);
      q.len = p.len - 4;
      if (checksum) q.hdr.csum_start = static_cast<uint16_t>(q.hdr.csum_start - 4);
      if (q.hdr.gso_type != virtio::kNetHdrGsoNone && q.hdr.hdr_len >= 4) {
        q.hdr.hdr_len = static_cast<uint16_t>(q.hdr.hdr_len - 4);
      }
    }
    if (!ok) {
      out.spans_used = q.first_span;  // what this packet appended goes
      ++dropped_;
      continue;
    }
    q.span_count = static_cast<uint16_t>(out.spans_used - q.first_span);
    out.packets[out.count++] = q;
  }
}

}  // namespace ringlane::net
