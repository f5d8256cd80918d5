// Walking a packed-ring chain into host spans: the descriptors a PackedQueue copied out of the
// ring (each read once, so a driver rewriting them cannot change what is walked), plus the
// indirect table one of them may point to, read once here. Same limits and errors as the split
// walker (desc_chain.h); what a packed ring cannot have (loops, next indices) it cannot report.
#pragma once

#include <cstdint>
#include <span>

#include "ringlane/virtio/desc_chain.h"
#include "ringlane/virtio/guest_memory.h"
#include "ringlane/virtio/spec.h"

namespace ringlane::virtio {

// `descs` is one chain as the ring held it: NEXT on every descriptor but the last. An INDIRECT
// descriptor may only be the last one; its table holds consecutive descriptors (at most
// `queue_size`, a length that is a multiple of 16), none INDIRECT, the last without NEXT (NEXT
// on the others is reserved and ignored, as the spec says a device must).
ChainWalk walk_packed_chain(const GuestMemory& mem, std::span<const PackedDesc> descs,
                            uint16_t queue_size, Access access, bool indirect_allowed,
                            std::span<HostSpan> out);

}  // namespace ringlane::virtio
