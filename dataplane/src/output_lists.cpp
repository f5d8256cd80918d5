#include "ringlane/dataplane/output_lists.h"

#include <algorithm>
#include <bit>

namespace ringlane::dataplane {

void OutputLists::grow(size_t ports) {
  // Powers of two from 64 (4 KiB of lists): ports added one at a time reallocate rarely.
  size_t capacity = std::bit_ceil(std::max<size_t>(ports, 64));
  lists_ = std::make_unique<uint16_t[]>(capacity * net::kBurstSize);
  counts_ = std::make_unique<uint8_t[]>(capacity);
  touched_ = std::make_unique<uint16_t[]>(capacity);
  touched_count_ = 0;
  capacity_ = capacity;
}

}  // namespace ringlane::dataplane
