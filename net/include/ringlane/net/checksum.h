// Internet checksum over scattered buffers, for finishing a partial checksum in software when the
// receiving driver did not negotiate VIRTIO_NET_F_GUEST_CSUM.
#pragma once

#include <cstdint>

#include "ringlane/virtio/guest_memory.h"

namespace ringlane::net {

// One's-complement sum (not folded, not inverted) of bytes [start, end) of the spans.
uint32_t ones_complement_sum(const virtio::HostSpan* spans, uint32_t count, uint64_t start,
                             uint64_t end, uint32_t initial = 0);
uint16_t fold_checksum(uint32_t sum);

}  // namespace ringlane::net
