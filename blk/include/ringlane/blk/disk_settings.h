// DiskSettings: what every queue of a disk reads while serving it. Fixed at start-up, apart from
// the capacity (a resize) and the cache mode (the driver's writeback toggle), which the control
// thread changes while workers run: those two are atomics, read once per request.
#pragma once

#include <atomic>
#include <cstdint>

#include "ringlane/virtio/blk_spec.h"

namespace ringlane::blk {

struct DiskSettings {
  std::atomic<uint64_t> capacity_sectors{0};
  std::atomic<bool> writeback{true};  // false: writes complete only once stable (RWF_DSYNC)
  bool readonly = false;
  bool discard = false;  // DISCARD and WRITE_ZEROES offered
  // The image's descriptors as each worker's ring has them registered (fixed files), and the
  // alignment that decides between them: O_DIRECT needs buffers and lengths of whole blocks.
  // With fixed_files false they are plain descriptors (a ring without registered files).
  bool fixed_files = true;
  int fixed_file = -1;           // O_DIRECT when `direct`, else buffered
  int fixed_buffered_file = -1;  // always buffered
  bool direct = false;
  uint32_t direct_alignment = 512;
  uint32_t seg_max = 126;
  uint32_t max_discard_sectors = 1u << 22;  // 2 GiB a range
  uint32_t max_discard_seg = 16;
  char id[virtio::kBlkIdBytes] = {};  // GET_ID's answer, NUL-padded
  uint8_t id_length = 0;
};

}  // namespace ringlane::blk
