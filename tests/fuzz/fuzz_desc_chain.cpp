// Fuzzes the parsing of guest-written rings: guest memory of a few regions (adjacent or not) is
// filled from the input, every chain of the descriptor table is walked both ways and as a
// request (and taken apart as a virtio-blk request), and the TX and RX data paths run over split
// rings in that memory. Beyond ASan/UBSan, every span a walk returns must lie inside guest memory
// and add up to the reported length.
//
// Input: a 16-byte control block, then the descriptor table, the avail ring (with used_event),
// and the bytes of the buffer area.
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "fuzz_guest.h"
#include "ringlane/blk/request.h"
#include "ringlane/net/rx.h"
#include "ringlane/net/tx.h"
#include "ringlane/virtio/desc_chain.h"
#include "ringlane/virtio/request_chain.h"

namespace {

using namespace ringlane::virtio;
using namespace ringlane::net;
namespace virtio = ringlane::virtio;

constexpr uint64_t kPage = 4096;
constexpr uint64_t kAvailOffset = 1 * kPage;  // desc table at 0, up to 256 entries
constexpr uint64_t kUsedOffset = 2 * kPage;
constexpr uint64_t kDataOffset = 3 * kPage;

using ringlane::fuzz::build_guest;
using ringlane::fuzz::Guest;
using ringlane::fuzz::Reader;

void check_walk(const Guest& g, const ChainWalk& w, const std::vector<HostSpan>& spans) {
  if (w.status != ChainStatus::ok && w.status != ChainStatus::too_many_segments) return;
  if (w.spans > spans.size()) __builtin_trap();
  uint64_t total = 0;
  for (uint32_t i = 0; i < w.spans; ++i) {
    if (!g.owns(spans[i])) __builtin_trap();
    total += spans[i].len;
  }
  if (w.status == ChainStatus::ok && total != w.bytes) __builtin_trap();
}

// A request walk obeys the same rules, its readable part is a prefix, and whatever
// parse_request makes of it stays inside the walked spans, with the status byte guest memory.
void check_request(const Guest& g, const virtio::RequestChainWalk& w, std::vector<HostSpan> spans) {
  check_walk(g, ChainWalk{w.status, w.spans, w.bytes}, spans);
  if (w.status != ChainStatus::ok) return;
  if (w.readable_spans > w.spans || w.readable_bytes > w.bytes) __builtin_trap();
  ringlane::blk::Request r = ringlane::blk::parse_request(spans, w);
  if (r.fault == ringlane::blk::RequestFault::no_status) {
    if (r.status != nullptr || w.bytes != w.readable_bytes) __builtin_trap();
    return;
  }
  if (r.status == nullptr || !g.owns(HostSpan{r.status, 1})) __builtin_trap();
  if (r.first_span + r.span_count > w.spans) __builtin_trap();
  uint64_t len = 0;
  for (uint32_t i = r.first_span; i < r.first_span + r.span_count; ++i) {
    if (!g.owns(spans[i])) __builtin_trap();
    len += spans[i].len;
  }
  if (r.fault == ringlane::blk::RequestFault::none && len != r.data_bytes) __builtin_trap();
}

RingLayout ring_in(Guest& g, uint16_t size) {
  RingLayout l;
  l.desc = reinterpret_cast<virtio::VringDesc*>(g.base());
  l.avail = reinterpret_cast<virtio::VringAvail*>(g.base() + kAvailOffset);
  l.used = reinterpret_cast<virtio::VringUsed*>(g.base() + kUsedOffset);
  l.size = size;
  return l;
}

int call_fd() {
  static int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  return fd;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Reader in(data, size);
  // Control block.
  uint8_t shape = in.u8();
  uint8_t gaps = in.u8();
  uint8_t sizes = in.u8();
  auto ring_size = static_cast<uint16_t>(1u << (in.u8() % 9));
  uint8_t feature_bits = in.u8();
  uint8_t rx_bits = in.u8();
  uint16_t last_avail = in.u16();
  uint8_t capacity = static_cast<uint8_t>(1 + in.u8() % 64);
  uint8_t desc_flag_xor = in.u8();
  uint8_t rounds = static_cast<uint8_t>(1 + in.u8() % 3);
  uint8_t avail_step = in.u8();
  uint8_t misc = in.u8();
  in.u8();
  in.u8();
  in.u8();

  // Up to three regions; region 0 holds the rings and is at least four pages.
  std::vector<RegionDescriptor> layout;
  uint64_t gpa = 0x10000 * (1 + (shape >> 4));
  for (int i = 0; i < 1 + shape % 3; ++i) {
    uint64_t pages = (i == 0 ? 4 : 1) + ((sizes >> (2 * i)) & 3);
    layout.push_back(RegionDescriptor{gpa, pages * kPage, 0x7f0000000000 + gpa, 0});
    static constexpr uint64_t kGap[4] = {0, kPage, 0x10000, 1};
    gpa += pages * kPage + kGap[(gaps >> (2 * i)) & 3];
  }
  Guest tx_guest;
  if (!build_guest(tx_guest, layout)) return 0;

  // Descriptor table, avail ring (with used_event), then buffer bytes across the regions.
  in.take(tx_guest.base(), virtio::desc_table_bytes(ring_size));
  in.take(tx_guest.base() + kAvailOffset, virtio::avail_ring_bytes(ring_size));
  size_t skip = kDataOffset;
  for (auto& block : tx_guest.blocks) {
    if (skip < block.size()) in.take(block.data() + skip, block.size() - skip);
    skip = skip > block.size() ? skip - block.size() : 0;
  }

  RingLayout tx_ring = ring_in(tx_guest, ring_size);
  bool indirect = feature_bits & 1;
  std::vector<HostSpan> spans(capacity);
  for (uint32_t head = 0; head <= ring_size; ++head) {
    for (Access access : {Access::device_reads, Access::device_writes}) {
      ChainWalk w = walk_chain(tx_guest.memory, tx_ring.desc, ring_size,
                               static_cast<uint16_t>(head), access, indirect, spans);
      check_walk(tx_guest, w, spans);
    }
    check_request(tx_guest,
                  virtio::walk_request_chain(tx_guest.memory, tx_ring.desc, ring_size,
                                             static_cast<uint16_t>(head), indirect, spans),
                  spans);
  }

  // The receiving guest: its own copy of the memory with descriptor flags flipped (to make
  // writable chains out of readable ones), or the very same memory (one VM, two ports), where
  // its rings sit elsewhere in region 0 and its buffers may overlap the sender's.
  Guest copy;
  bool same_memory = misc & 1;
  if (!same_memory) {
    if (!build_guest(copy, layout)) return 0;
    for (size_t i = 0; i < copy.blocks.size(); ++i) {
      std::memcpy(copy.blocks[i].data(), tx_guest.blocks[i].data(), copy.blocks[i].size());
    }
    auto* desc = reinterpret_cast<virtio::VringDesc*>(copy.base());
    for (uint16_t i = 0; i < ring_size; ++i) desc[i].flags ^= desc_flag_xor;
  }
  Guest& rx_guest = same_memory ? tx_guest : copy;
  RingLayout rx_ring = ring_in(rx_guest, ring_size);
  if (same_memory) {
    rx_ring.desc = reinterpret_cast<virtio::VringDesc*>(rx_guest.base() + kDataOffset);
    rx_ring.avail = reinterpret_cast<virtio::VringAvail*>(rx_guest.base() + kAvailOffset + 0x400);
    rx_ring.used = reinterpret_cast<virtio::VringUsed*>(rx_guest.base() + kUsedOffset + 0x900);
  }

  using virtio::bit;
  uint64_t tx_features = (feature_bits & 2 ? bit(virtio::kFVersion1) : 0) |
                         (feature_bits & 4 ? bit(virtio::kNetFCsum) : 0) |
                         (feature_bits & 8 ? bit(virtio::kNetFHostTso4) : 0);
  uint64_t rx_features = (rx_bits & 1 ? bit(virtio::kFVersion1) : 0) |
                         (rx_bits & 2 ? bit(virtio::kNetFMrgRxbuf) : 0) |
                         (rx_bits & 4 ? bit(virtio::kNetFGuestCsum) : 0) |
                         (rx_bits & 8 ? bit(virtio::kNetFGuestTso4) : 0) |
                         (rx_bits & 16 ? bit(virtio::kNetFGuestTso6) : 0);
  NetFeatures tx_net = NetFeatures::from_bits(tx_features);
  NetFeatures rx_net = NetFeatures::from_bits(rx_features);

  SplitQueue txq;
  SplitQueue rxq;
  txq.configure(&tx_guest.memory, tx_ring, feature_bits & 16, indirect, last_avail);
  rxq.configure(&rx_guest.memory, rx_ring, rx_bits & 32, rx_bits & 64, last_avail);
  txq.set_call_fd(call_fd());
  rxq.set_call_fd(call_fd());
  txq.set_live(true);
  rxq.set_live(true);
  auto batch = std::make_unique<PacketBatch>();
  for (int r = 0; r < rounds && txq.serving(); ++r) {
    batch->clear();
    uint16_t n = dequeue_burst(txq, tx_net, *batch);
    if (n > batch->count) __builtin_trap();
    for (uint16_t i = 0; i < batch->count; ++i) {
      const PacketView& p = batch->packets[i];
      uint64_t len = 0;
      for (uint16_t s = 0; s < p.span_count; ++s) {
        if (!tx_guest.owns(batch->spans_of(p)[s])) __builtin_trap();
        len += batch->spans_of(p)[s].len;
      }
      if (len != p.len) __builtin_trap();
    }
    if (rxq.serving()) {
      std::vector<uint16_t> which(batch->count);
      for (uint16_t i = 0; i < batch->count; ++i) which[i] = i;
      enqueue_burst(rxq, rx_net, *batch, which);
    }
    complete_burst(txq, *batch);
    // The guest offers more: move both avail indices on.
    tx_ring.avail->idx = static_cast<uint16_t>(tx_ring.avail->idx + avail_step);
    rx_ring.avail->idx = static_cast<uint16_t>(rx_ring.avail->idx + (avail_step >> 1));
  }
  uint64_t drained;
  [[maybe_unused]] auto n = ::read(call_fd(), &drained, sizeof(drained));
  return 0;
}
