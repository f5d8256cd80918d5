// The check made before a split ring is (re)started at a handed-over position. ringlane's data
// path and the VMM's TAP backend complete every buffer they take before they stop, in the order
// taken or not, so when a ring changes hands its used index equals the next avail position the
// previous server reports. Any other pair means the position is stale (a retried or half-finished
// hand-over): starting there would complete buffers the guest already has back, or never
// complete others. Such a start is refused instead. A device that tracks its requests across a
// crash (virtio-blk with an in-flight region) takes some back itself: the position is then past
// the used index by exactly that many.
#pragma once

#include <cstdint>

#include "ringlane/base/result.h"
#include "ringlane/virtio/split_queue.h"

namespace ringlane::virtio {

// `used_idx` as the ring holds it, `next_avail` as handed over, `taken_back` the requests the
// device resubmits itself.
Status check_resume_position(uint16_t used_idx, uint16_t next_avail, uint16_t taken_back = 0);
// Reads the used index from the ring first.
Status check_resume_position(const RingLayout& layout, uint16_t next_avail,
                             uint16_t taken_back = 0);

}  // namespace ringlane::virtio
