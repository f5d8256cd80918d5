#include "ringlane/virtio/request_chain.h"

#include "chain_walker.h"

namespace ringlane::virtio {

namespace {

// Readable buffers, then writable ones; records where the chain turned.
struct ReadsThenWrites {
  bool writing = false;
  uint32_t readable_spans = 0;
  uint64_t readable_bytes = 0;

  bool accept(bool writable, uint32_t spans, uint64_t bytes) {
    if (!writable) return !writing;
    if (!writing) {
      writing = true;
      readable_spans = spans;
      readable_bytes = bytes;
    }
    return true;
  }
};

}  // namespace

RequestChainWalk walk_request_chain(const GuestMemory& mem, const VringDesc* table, uint16_t size,
                                    uint16_t head, bool indirect_allowed, std::span<HostSpan> out) {
  if (head >= size) return RequestChainWalk{ChainStatus::bad_head, 0, 0, 0, 0};
  detail::ChainWalker<ReadsThenWrites> w{mem, {}, out};
  ChainStatus s = w.walk(table, size, head, indirect_allowed);
  const ReadsThenWrites& d = w.direction;
  // A chain that never turned writable is readable throughout.
  uint32_t readable_spans = d.writing ? d.readable_spans : w.spans;
  uint64_t readable_bytes = d.writing ? d.readable_bytes : w.bytes;
  return RequestChainWalk{s, w.spans, w.bytes, readable_spans, readable_bytes};
}

}  // namespace ringlane::virtio
