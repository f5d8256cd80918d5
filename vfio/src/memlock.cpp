#include "ringlane/vfio/memlock.h"

#include <sys/resource.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <fstream>

namespace ringlane::vfio {

Result<MemlockState> current_memlock_state() {
  MemlockState state;
  rlimit limit{};
  if (getrlimit(RLIMIT_MEMLOCK, &limit) != 0) return errno_error("getrlimit(RLIMIT_MEMLOCK)");
  state.limit_bytes = limit.rlim_cur == RLIM_INFINITY ? UINT64_MAX : limit.rlim_cur;
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    unsigned long long kib = 0;
    if (std::sscanf(line.c_str(), "VmLck: %llu kB", &kib) == 1) {
      state.locked_bytes = kib * 1024;
      break;
    }
  }
  return state;
}

std::string format_bytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  if (unit == 0) {
    std::snprintf(text, sizeof(text), "%" PRIu64 " bytes", bytes);
  } else if (value == static_cast<double>(static_cast<uint64_t>(value))) {
    std::snprintf(text, sizeof(text), "%.0f %s", value, kUnits[unit]);
  } else {
    std::snprintf(text, sizeof(text), "%.1f %s", value, kUnits[unit]);
  }
  return text;
}

Error dma_map_error(int error_code, uint64_t iova, uint64_t size, const MemlockState& state) {
  char range[64];
  std::snprintf(range, sizeof(range), "0x%" PRIx64 "-0x%" PRIx64, iova, iova + size - 1);
  std::string what = "VFIO DMA map of " + format_bytes(size) + " at IOVA " + range;
  bool over_limit =
      state.limit_bytes != UINT64_MAX &&
      (state.locked_bytes > state.limit_bytes || size > state.limit_bytes - state.locked_bytes);
  if (error_code != ENOMEM || !over_limit) return Error(error_code, what);
  // Kibibytes: what both `ulimit -l` and LimitMEMLOCK= (with a K suffix) take.
  uint64_t needed = state.locked_bytes + size;
  uint64_t needed_kib = (needed + 1023) / 1024;
  return Error(ENOMEM, what + " failed: the IOMMU pins mapped memory, and " + format_bytes(needed) +
                           " locked (" + format_bytes(state.locked_bytes) +
                           " already) would exceed RLIMIT_MEMLOCK of " +
                           format_bytes(state.limit_bytes) + "; raise the limit to at least " +
                           std::to_string(needed_kib) + " KiB (`ulimit -l " +
                           std::to_string(needed_kib) +
                           "` in the shell, LimitMEMLOCK=" + std::to_string(needed_kib) +
                           "K in a systemd unit, or run with CAP_IPC_LOCK)");
}

}  // namespace ringlane::vfio
