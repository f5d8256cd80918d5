#include "ringlane/vmm/x86/e820.h"

#include <algorithm>

namespace ringlane::vmm {

std::vector<E820Entry> e820_map(uint64_t ram_bytes) {
  std::vector<E820Entry> map = {
      {kRamStart, kLowRamEnd - kRamStart, E820Type::ram},
      {kLowRamEnd, kHighRamStart - kLowRamEnd, E820Type::reserved},
  };
  uint64_t below_hole = std::min(ram_bytes, kPciHoleStart);
  if (below_hole > kHighRamStart) {
    map.push_back({kHighRamStart, below_hole - kHighRamStart, E820Type::ram});
  }
  if (ram_bytes > kPciHoleStart) {
    map.push_back({kPciHoleEnd, ram_bytes - kPciHoleStart, E820Type::ram});
  }
  return map;
}

}  // namespace ringlane::vmm
