#include "ringlane/virtio/ring_resume.h"

#include <string>

namespace ringlane::virtio {

Status check_resume_position(uint16_t used_idx, uint16_t next_avail) {
  if (used_idx == next_avail) return {};
  return Error(EPROTO, "refusing to start at avail position " + std::to_string(next_avail) +
                           ": the used ring says " + std::to_string(used_idx) +
                           " buffers were completed, so the position handed over is stale and "
                           "starting there would complete buffers twice or never");
}

Status check_resume_position(const RingLayout& layout, uint16_t next_avail) {
  return check_resume_position(__atomic_load_n(&layout.used->idx, __ATOMIC_ACQUIRE), next_avail);
}

}  // namespace ringlane::virtio
