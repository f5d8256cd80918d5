// The guest's physical memory map as firmware reports it (E820): where RAM is and what must not
// be used. Both boot protocols hand it to the kernel (PVH in hvm_start_info, Linux in the zero
// page), so the map is built in one place from the machine's RAM size.
#pragma once

#include <cstdint>
#include <vector>

#include "ringlane/vmm/x86/layout.h"

namespace ringlane::vmm {

enum class E820Type : uint32_t {
  ram = 1,
  reserved = 2,
};

struct E820Entry {
  uint64_t addr;
  uint64_t size;
  E820Type type;
};

// The map of a machine with `ram_bytes` of RAM laid out from kRamStart (layout.h): RAM below
// kLowRamEnd, kLowRamEnd-kHighRamStart reserved (EBDA, legacy video window, the BIOS area with the
// MP table), RAM from kHighRamStart, and the part that would fall into the PCI hole moved to
// kPciHoleEnd. `ram_bytes` is at least 2 MiB.
std::vector<E820Entry> e820_map(uint64_t ram_bytes);

}  // namespace ringlane::vmm
