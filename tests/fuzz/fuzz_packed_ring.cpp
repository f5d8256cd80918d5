// Fuzzes the device side of packed virtqueues: guest memory of a few regions (adjacent or not)
// filled from the input, a packed ring of any size up to 256 started at any position, and the
// TX and RX data paths run over it for a few rounds, the "driver" rewriting descriptor flags
// between rounds (some as the next lap expects them, so that later rounds find new chains across
// the wrap). Beyond ASan/UBSan (each region is a heap block of its own, so a read past one is
// caught): every span a burst returns lies inside guest memory and adds up to the packet's
// length, and the queue's positions stay inside the ring whether it is serving or broken.
//
// Input: a 16-byte control block, the descriptor ring (16 bytes per entry), the rounds' flag
// rewrites (4 bytes each: u16 index, u16 flags; bit 15 of the index asks for the flags that make
// it available in the lap the device expects there), then the bytes of the buffer area.
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "fuzz_guest.h"
#include "ringlane/base/log.h"
#include "ringlane/net/rx.h"
#include "ringlane/net/tx.h"
#include "ringlane/virtio/packed_queue.h"

namespace {

using namespace ringlane::virtio;
using namespace ringlane::net;
namespace virtio = ringlane::virtio;

constexpr uint64_t kPage = 4096;
constexpr uint64_t kEventOffset = 1 * kPage;  // the ring at 0: up to 256 entries, one page
constexpr uint64_t kDataOffset = 3 * kPage;

using ringlane::fuzz::build_guest;
using ringlane::fuzz::Guest;
using ringlane::fuzz::Reader;

PackedRingLayout ring_at(Guest& g, uint64_t desc, uint64_t events, uint16_t size) {
  PackedRingLayout l;
  l.desc = reinterpret_cast<PackedDesc*>(g.base() + desc);
  l.driver_event = reinterpret_cast<PackedEventSuppress*>(g.base() + events);
  l.device_event = reinterpret_cast<PackedEventSuppress*>(g.base() + events + 4);
  l.size = size;
  return l;
}

int call_fd() {
  static int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  return fd;
}

void check_queue(const PackedQueue& q) {
  PackedPosition p = q.position();
  if (p.avail_idx >= q.size() || p.used_idx >= q.size()) __builtin_trap();
  if (q.occupancy() > q.size()) __builtin_trap();
}

// The driver rewrites one descriptor's flags; with `as_expected`, AVAIL/USED as the lap the
// device expects at that index (the one it reads next, or the lap after for indices behind).
void rewrite(PackedRingLayout& ring, const PackedQueue& q, uint16_t record, uint16_t flags) {
  uint16_t idx = static_cast<uint16_t>((record & 0x7fff) % ring.size);
  if (record & 0x8000) {
    PackedPosition p = q.position();
    bool wrap = idx >= p.avail_idx ? p.avail_wrap : !p.avail_wrap;
    flags = static_cast<uint16_t>((flags & (kDescFNext | kDescFWrite | kDescFIndirect)) |
                                  (wrap ? kPackedDescFAvail : kPackedDescFUsed));
  }
  __atomic_store_n(&ring.desc[idx].flags, flags, __ATOMIC_RELEASE);
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): libFuzzer's name
extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  // Broken queues log a line each, and every input makes new queues: keep the output readable
  // and the runs fast.
  ringlane::set_log_sink([](ringlane::LogLevel, const std::string&) {});
  return 0;
}

// NOLINTNEXTLINE(readability-identifier-naming): libFuzzer's name
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Reader in(data, size);
  uint8_t shape = in.u8();
  uint8_t gaps = in.u8();
  uint8_t sizes = in.u8();
  auto ring_size = static_cast<uint16_t>(1 + in.u8());
  uint8_t tx_bits = in.u8();
  uint8_t rx_bits = in.u8();
  uint16_t start_avail = in.u16();
  uint16_t start_used = in.u16();
  int rounds = 1 + in.u8() % 4;
  uint8_t misc = in.u8();
  uint16_t event_off_wrap = in.u16();
  uint8_t desc_flag_xor = in.u8();
  int rewrites = in.u8() % 8;

  // Up to three regions; region 0 holds the rings and is at least four pages.
  std::vector<RegionDescriptor> layout;
  uint64_t gpa = uint64_t{0x10000} * (1 + (shape >> 4));
  for (int i = 0; i < 1 + shape % 3; ++i) {
    uint64_t pages = (i == 0 ? 4 : 1) + ((sizes >> (2 * i)) & 3);
    layout.push_back(RegionDescriptor{gpa, pages * kPage, 0x7f0000000000 + gpa, 0});
    static constexpr uint64_t kGap[4] = {0, kPage, 0x10000, 1};
    gpa += pages * kPage + kGap[(gaps >> (2 * i)) & 3];
  }
  Guest tx_guest;
  if (!build_guest(tx_guest, layout)) return 0;
  in.take(tx_guest.base(), packed_ring_bytes(ring_size));
  std::vector<uint16_t> records(static_cast<size_t>(rounds) * rewrites * 2);
  for (uint16_t& r : records) r = in.u16();
  size_t skip = kDataOffset;
  for (auto& block : tx_guest.blocks) {
    if (skip < block.size()) in.take(block.data() + skip, block.size() - skip);
    skip = skip > block.size() ? skip - block.size() : 0;
  }

  // The receiving guest: a copy with descriptor flags flipped (to make writable chains out of
  // readable ones), or the very same memory (one VM, two ports) with its ring in the buffer area.
  Guest copy;
  bool same_memory = misc & 1;
  if (!same_memory) {
    if (!build_guest(copy, layout)) return 0;
    for (size_t i = 0; i < copy.blocks.size(); ++i) {
      std::memcpy(copy.blocks[i].data(), tx_guest.blocks[i].data(), copy.blocks[i].size());
    }
    auto* desc = reinterpret_cast<PackedDesc*>(copy.base());
    for (uint16_t i = 0; i < ring_size; ++i) desc[i].flags ^= desc_flag_xor;
  }
  Guest& rx_guest = same_memory ? tx_guest : copy;
  PackedRingLayout tx_ring = ring_at(tx_guest, 0, kEventOffset, ring_size);
  PackedRingLayout rx_ring = same_memory
                                 ? ring_at(rx_guest, kDataOffset, kEventOffset + 0x100, ring_size)
                                 : ring_at(rx_guest, 0, kEventOffset, ring_size);
  // The driver's wishes for interrupts (the device event areas are ours to write).
  tx_ring.driver_event->flags = static_cast<uint16_t>((misc >> 1) & 3);
  tx_ring.driver_event->off_wrap = event_off_wrap;
  rx_ring.driver_event->flags = static_cast<uint16_t>((misc >> 3) & 3);
  rx_ring.driver_event->off_wrap = static_cast<uint16_t>(event_off_wrap ^ 0x8000);

  using virtio::bit;
  uint64_t tx_features = (tx_bits & 2 ? bit(kFVersion1) : 0) | (tx_bits & 4 ? bit(kNetFCsum) : 0) |
                         (tx_bits & 8 ? bit(kNetFHostTso4) : 0);
  uint64_t rx_features =
      (rx_bits & 1 ? bit(kFVersion1) : 0) | (rx_bits & 2 ? bit(kNetFMrgRxbuf) : 0) |
      (rx_bits & 4 ? bit(kNetFGuestCsum) : 0) | (rx_bits & 8 ? bit(kNetFGuestTso4) : 0) |
      (rx_bits & 16 ? bit(kNetFGuestTso6) : 0);
  NetFeatures tx_net = NetFeatures::from_bits(tx_features);
  NetFeatures rx_net = NetFeatures::from_bits(rx_features);

  auto position = [](uint16_t avail, uint16_t used) {
    return PackedPosition{static_cast<uint16_t>(avail & 0x7fff), (avail & 0x8000) != 0,
                          static_cast<uint16_t>(used & 0x7fff), (used & 0x8000) != 0};
  };
  PackedQueue txq;
  PackedQueue rxq;
  txq.configure(&tx_guest.memory, tx_ring, tx_bits & 16, tx_bits & 1,
                position(start_avail, start_used));
  rxq.configure(&rx_guest.memory, rx_ring, rx_bits & 32, rx_bits & 64,
                misc & 0x20 ? position(start_used, start_avail) : PackedPosition{});
  txq.set_call_fd(call_fd());
  rxq.set_call_fd(call_fd());
  txq.set_live(true);
  rxq.set_live(true);
  auto batch = std::make_unique<PacketBatch>();
  size_t next_record = 0;
  for (int r = 0; r < rounds && (txq.serving() || rxq.serving()); ++r) {
    batch->clear();
    if (txq.serving()) {
      uint16_t n = dequeue_burst(txq, tx_net, *batch);
      if (n > batch->count) __builtin_trap();
      for (uint16_t i = 0; i < batch->count; ++i) {
        const PacketView& p = batch->packets[i];
        uint64_t len = 0;
        for (uint16_t s = 0; s < p.span_count; ++s) {
          if (!tx_guest.owns(batch->spans_of(p)[s])) __builtin_trap();
          len += batch->spans_of(p)[s].len;
        }
        if (len != p.len || p.head >= ring_size) __builtin_trap();
      }
    }
    if (rxq.serving()) {
      std::vector<uint16_t> which(batch->count);
      for (uint16_t i = 0; i < batch->count; ++i) which[i] = i;
      enqueue_burst(rxq, rx_net, *batch, which);
    }
    complete_burst(txq, *batch);
    check_queue(txq);
    check_queue(rxq);
    for (int w = 0; w < rewrites && next_record + 1 < records.size(); ++w) {
      uint16_t record = records[next_record++];
      uint16_t flags = records[next_record++];
      rewrite(tx_ring, txq, record, flags);
      rewrite(rx_ring, rxq, static_cast<uint16_t>(record ^ 0x1), flags);
    }
  }
  // Whatever happened, a stopped queue reports a position a restart can take.
  PackedQueue resumed;
  resumed.configure(&tx_guest.memory, tx_ring, false, true,
                    PackedPosition::from_vring_base(txq.position().to_vring_base()));
  PackedPosition was = txq.position();
  PackedPosition now = resumed.position();
  if (now.avail_idx != was.avail_idx || now.avail_wrap != was.avail_wrap) __builtin_trap();
  // (A used half of zero bits reads as "the same as avail": see from_vring_base.)
  if ((was.to_vring_base() >> 16) != 0 && !(now == was)) __builtin_trap();
  uint64_t drained;
  [[maybe_unused]] auto n = ::read(call_fd(), &drained, sizeof(drained));
  return 0;
}
