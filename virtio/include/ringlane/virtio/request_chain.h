// Walking a request-response chain (virtio-blk and the like): the driver's part first, device-
// readable, then the device's part, device-writable (virtio 1.2 section 2.7.4.2). A walk of its
// own, apart from walk_chain(), so that the net path's walk stays as small as it is.
#pragma once

#include <cstdint>
#include <span>

#include "ringlane/virtio/desc_chain.h"
#include "ringlane/virtio/guest_memory.h"
#include "ringlane/virtio/spec.h"

namespace ringlane::virtio {

struct RequestChainWalk {
  ChainStatus status;       // wrong_direction: a readable buffer after a writable one
  uint32_t spans;           // host spans written to `out`
  uint64_t bytes;           // total buffer bytes
  uint32_t readable_spans;  // out[0, readable_spans) are device-readable, the rest writable
  uint64_t readable_bytes;
};

// Walks the chain starting at `head` of a descriptor table of `size` entries.
RequestChainWalk walk_request_chain(const GuestMemory& mem, const VringDesc* table, uint16_t size,
                                    uint16_t head, bool indirect_allowed, std::span<HostSpan> out);

}  // namespace ringlane::virtio
