// The per-packet cost of the virtio-net data path in bursts of 32: taking packets off a guest's
// TX queue and returning the buffers (dequeue_burst + complete_burst), and copying packets into
// a guest's RX buffers (enqueue_burst), with and without mergeable buffers. The guest driver's
// share of each iteration (recycling used heads into the avail ring) is included; it is a few
// loads and stores per packet. Each runs on a split ring (GuestRing) and on a packed one
// (GuestPackedRing), same sizes and buffers. The receive case also runs with a live migration's
// dirty log on (every written buffer and the used ring marked, as while QEMU migrates the guest).
#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>
#include <vector>

#include "guest_ring.h"
#include "ringlane/net/features.h"
#include "ringlane/net/rx.h"
#include "ringlane/net/tx.h"
#include "ringlane/virtio/dirty_log.h"

namespace ringlane::perf {
namespace {

using net::kBurstSize;
using net::NetFeatures;
using net::PacketBatch;

net::NetFeatures features(bool mergeable) {
  // DPDK's and Linux's drivers always negotiate VERSION_1 (12-byte header).
  uint64_t bits = virtio::bit(virtio::kFVersion1);
  if (mergeable) bits |= virtio::bit(virtio::kNetFMrgRxbuf);
  return net::NetFeatures::from_bits(bits);
}

// An Ethernet/IPv4/UDP-looking frame: contents do not matter to the data path, only length.
void fill_frame(uint8_t* p, uint32_t len) {
  static constexpr uint8_t kHead[] = {0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00};
  std::memset(p, 0x5a, len);
  std::memcpy(p, kHead, sizeof(kHead));
}

// Reports time per packet next to Google Benchmark's per-iteration time.
void report_packets(benchmark::State& state, uint32_t frame_len) {
  int64_t packets = state.iterations() * net::kBurstSize;
  state.SetItemsProcessed(packets);
  state.SetBytesProcessed(packets * frame_len);
  state.counters["time/pkt"] = benchmark::Counter(
      static_cast<double>(packets), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// dequeue_burst + complete_burst of 32 packets of 64 bytes, one descriptor each (header in
// front of the frame).
template <typename Ring>
void BM_TxDequeueComplete(benchmark::State& state) {
  constexpr uint32_t kFrame = 64;
  net::NetFeatures f = features(true);
  Ring ring;
  ring.one_buffer_per_head(f.hdr_len + kFrame, /*device_writes=*/false);
  for (uint16_t i = 0; i < Ring::kSize; ++i) {
    fill_frame(ring.host(Ring::buffer_offset(i)) + f.hdr_len, kFrame);
  }
  ring.start();
  auto batch = std::make_unique<net::PacketBatch>();
  for (auto _ : state) {
    batch->clear();
    uint16_t n = net::dequeue_burst(ring.queue(), f, *batch);
    net::complete_burst(ring.queue(), *batch);
    uint16_t back = ring.recycle();
    if (n != net::kBurstSize || back != net::kBurstSize || batch->packets[0].len != kFrame)
        [[unlikely]] {
      state.SkipWithError("dequeue/complete did not move a full burst");
      break;
    }
  }
  report_packets(state, kFrame);
}
BENCHMARK_TEMPLATE(BM_TxDequeueComplete, GuestRing);
BENCHMARK_TEMPLATE(BM_TxDequeueComplete, GuestPackedRing);

// enqueue_burst of 32 packets into receive buffers of `buf` bytes (one descriptor per head).
// Args: frame length, mergeable (0/1), receive buffer length, dirty log (0 off, 1 on).
template <typename Ring>
void BM_RxEnqueue(benchmark::State& state) {
  auto frame = static_cast<uint32_t>(state.range(0));
  bool mergeable = state.range(1) != 0;
  auto buf = static_cast<uint32_t>(state.range(2));
  bool logging = state.range(3) != 0;
  net::NetFeatures f = features(mergeable);
  uint64_t need = f.hdr_len + uint64_t{frame};
  uint64_t heads_per_packet = (need + buf - 1) / buf;
  Ring ring;
  ring.one_buffer_per_head(buf, /*device_writes=*/true);
  ring.start();
  // One bit per page up to the arena's end. The frontend would clear bits as it copies; here
  // they stay set after the first burst, and every mark is the locked OR all the same.
  std::vector<uint8_t> bits((Ring::kGuestBase + Ring::kArenaBytes) / 4096 / 8);
  auto log = virtio::DirtyLog::wrap(bits.data(), bits.size());
  if (logging) ring.queue().set_dirty_log(log.get());

  // The source packets, as dequeue_burst would have left them: one span each, no offloads.
  auto batch = std::make_unique<net::PacketBatch>();
  uint16_t which[net::kBurstSize];
  for (uint16_t i = 0; i < net::kBurstSize; ++i) {
    uint8_t* src = ring.host(Ring::kSourceOffset + i * Ring::kBufferStride);
    fill_frame(src, frame);
    batch->spans[i] = {src, frame};
    batch->packets[i] = {i, 1, i, frame, {}};
    which[i] = i;
  }
  batch->count = net::kBurstSize;
  batch->spans_used = net::kBurstSize;

  for (auto _ : state) {
    uint16_t delivered = net::enqueue_burst(ring.queue(), f, *batch, which);
    uint64_t bytes = 0;
    uint16_t back = ring.recycle(&bytes);
    if (delivered != net::kBurstSize || back != net::kBurstSize * heads_per_packet ||
        bytes != net::kBurstSize * need) [[unlikely]] {
      state.SkipWithError("enqueue did not deliver a full burst");
      break;
    }
  }
  report_packets(state, frame);
}
// The receive cases, for either ring kind.
void rx_cases(benchmark::internal::Benchmark* b) {
  b->ArgNames({"frame", "mrg", "buf", "log"})
      ->Args({64, 0, 2048, 0})
      ->Args({64, 1, 2048, 0})
      ->Args({1518, 0, 2048, 0})
      ->Args({1518, 1, 2048, 0})
      // Small mergeable buffers: a 1518-byte frame spans two heads.
      ->Args({1518, 1, 1024, 0})
      // While a migration logs.
      ->Args({64, 1, 2048, 1})
      ->Args({1518, 1, 2048, 1});
}
BENCHMARK_TEMPLATE(BM_RxEnqueue, GuestRing)->Apply(rx_cases);
BENCHMARK_TEMPLATE(BM_RxEnqueue, GuestPackedRing)->Apply(rx_cases);

}  // namespace
}  // namespace ringlane::perf
