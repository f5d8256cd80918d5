// Walking a split-ring descriptor chain that a guest wrote: the one place where guest-controlled
// descriptor tables are parsed. Every descriptor is read once, every address translated and
// range-checked, and loops, over-long chains and nested indirect tables are refused.
#pragma once

#include <cstdint>
#include <span>

#include "ringlane/virtio/guest_memory.h"
#include "ringlane/virtio/spec.h"

namespace ringlane::virtio {

enum class ChainStatus : uint8_t {
  ok = 0,
  bad_head,          // head index outside the table
  bad_next,          // next index outside the table
  too_long,          // more descriptors than the table has: a loop or an over-long chain
  nested_indirect,   // an indirect descriptor inside an indirect table
  bad_indirect,      // indirect table of bad length, with NEXT set, or not mapped contiguously
  unmapped,          // a buffer outside guest memory or overflowing
  wrong_direction,   // writable buffer where the device must read, or read-only where it writes
  too_many_segments  // legal, but more host spans than the caller can hold
};

const char* to_string(ChainStatus status);

// True for errors that mean the driver broke the ring protocol (the queue is marked broken);
// false for limits of ours, where only the one chain is dropped.
inline bool is_fatal(ChainStatus status) {
  return status != ChainStatus::ok && status != ChainStatus::too_many_segments;
}

enum class Access : uint8_t { device_reads, device_writes };

struct ChainWalk {
  ChainStatus status;
  uint32_t spans;  // host spans written to `out`
  uint64_t bytes;  // total buffer bytes
};

// Walks the chain starting at `head` of a descriptor table of `size` entries.
ChainWalk walk_chain(const GuestMemory& mem, const virtio::VringDesc* table, uint16_t size,
                     uint16_t head, Access access, bool indirect_allowed, std::span<HostSpan> out);

}  // namespace ringlane::virtio
