// walk_chain on the chain shapes virtio-net drivers use for a 64-byte frame with its 12-byte
// header: one descriptor (header pushed in front of the frame, as DPDK and Linux do with
// ANY_LAYOUT), two chained descriptors (header apart), and an indirect table of two.
#include <benchmark/benchmark.h>

#include <span>

#include "guest_ring.h"
#include "ringlane/virtio/desc_chain.h"

namespace ringlane::perf {
namespace {

using virtio::Access;
using virtio::ChainStatus;
using virtio::HostSpan;

constexpr uint32_t kHdr = 12;
constexpr uint32_t kFrame = 64;

enum Shape { kOne, kTwo, kIndirect };

// Writes one chain of the given shape at head 0 and returns the bytes it covers.
uint64_t build_chain(GuestRing& ring, Shape shape) {
  virtio::VringDesc* d = ring.desc();
  uint64_t buf = GuestRing::gpa(GuestRing::buffer_offset(0));
  switch (shape) {
    case kOne:
      d[0] = {buf, kHdr + kFrame, 0, 0};
      break;
    case kTwo:
      d[0] = {buf, kHdr, virtio::kDescFNext, 1};
      d[1] = {buf + 64, kFrame, 0, 0};
      break;
    case kIndirect: {
      auto* table = reinterpret_cast<virtio::VringDesc*>(ring.host(GuestRing::kIndirectOffset));
      table[0] = {buf, kHdr, virtio::kDescFNext, 1};
      table[1] = {buf + 64, kFrame, 0, 0};
      d[0] = {GuestRing::gpa(GuestRing::kIndirectOffset), 2 * sizeof(virtio::VringDesc),
              virtio::kDescFIndirect, 0};
      break;
    }
  }
  return kHdr + kFrame;
}

void BM_WalkChain(benchmark::State& state, Shape shape) {
  GuestRing ring;
  uint64_t expect = build_chain(ring, shape);
  virtio::HostSpan spans[16];
  for (auto _ : state) {
    virtio::ChainWalk w = virtio::walk_chain(ring.memory(), ring.desc(), GuestRing::kSize, 0,
                                             Access::device_reads, true, spans);
    benchmark::DoNotOptimize(w);
    benchmark::DoNotOptimize(spans);
    if (w.status != virtio::ChainStatus::ok || w.bytes != expect) [[unlikely]] {
      state.SkipWithError("walk_chain failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_WalkChain, one_desc, kOne);
BENCHMARK_CAPTURE(BM_WalkChain, two_desc, kTwo);
BENCHMARK_CAPTURE(BM_WalkChain, indirect_two_desc, kIndirect);

}  // namespace
}  // namespace ringlane::perf
