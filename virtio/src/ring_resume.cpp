#include "ringlane/virtio/ring_resume.h"

#include <string>

namespace ringlane::virtio {

Status check_resume_position(uint16_t used_idx, uint16_t next_avail, uint16_t taken_back) {
  if (static_cast<uint16_t>(used_idx + taken_back) == next_avail) return {};
  return Error(
      EPROTO,
      "refusing to start at avail position " + std::to_string(next_avail) +
          ": the used ring says " + std::to_string(used_idx) + " buffers were completed" +
          (taken_back ? " and " + std::to_string(taken_back) + " are in flight" : std::string()) +
          ", so the position handed over is stale and starting there would "
          "complete buffers twice or never");
}

Status check_resume_position(const RingLayout& layout, uint16_t next_avail, uint16_t taken_back) {
  return check_resume_position(__atomic_load_n(&layout.used->idx, __ATOMIC_ACQUIRE), next_avail,
                               taken_back);
}

}  // namespace ringlane::virtio
