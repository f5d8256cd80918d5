// The locked-memory limit behind VFIO DMA mappings: the type1 IOMMU pins every mapped page and
// charges it to the process's RLIMIT_MEMLOCK (unless it has CAP_IPC_LOCK), and a map past the
// limit fails with a bare ENOMEM. These turn that into a message that says what to change.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "ringlane/base/result.h"

namespace ringlane::vfio {

struct MemlockState {
  uint64_t locked_bytes = 0;  // already locked by this process (VmLck)
  uint64_t limit_bytes = 0;   // RLIMIT_MEMLOCK's soft limit; UINT64_MAX when unlimited
};

// This process's locked memory and limit, read from /proc/self/status and getrlimit().
Result<MemlockState> current_memlock_state();

// The error for a DMA map of `size` bytes at `iova` that failed with `error_code`: when it is
// ENOMEM and the locked total would pass the limit, the message names the limit, the size
// needed and how to raise it; otherwise a plain "map ... failed" error carrying the code.
Error dma_map_error(int error_code, uint64_t iova, uint64_t size, const MemlockState& state);

// "64 KiB", "2 MiB", "1.5 GiB": sizes in messages.
std::string format_bytes(uint64_t bytes);

}  // namespace ringlane::vfio
