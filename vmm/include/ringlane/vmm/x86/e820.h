// The guest's physical memory map as firmware reports it (E820): where RAM is and what must not
// be used. Both boot protocols hand it to the kernel (PVH in hvm_start_info, Linux in the zero
// page), so the map is built in one place from the machine's RAM size.
#pragma once

#include <cstdint>
#include <vector>

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

// Below 640 KiB is RAM up to the EBDA; 0x9fc00-1 MiB holds the EBDA, the legacy video window and
// the BIOS area (where the MP table lives), so it is reserved.
inline constexpr uint64_t kLowRamEnd = 0x9fc00;
inline constexpr uint64_t kHighRamStart = 0x100000;
// The 32-bit PCI hole: device BARs, the IOAPIC and the local APICs. RAM never appears here; what
// the machine has beyond kPciHoleStart continues at 4 GiB.
inline constexpr uint64_t kPciHoleStart = 0xc0000000;
inline constexpr uint64_t kPciHoleEnd = 0x100000000;

// The map of a machine with `ram_bytes` of RAM laid out from guest physical 0, with the part that
// would fall into the PCI hole moved above 4 GiB. `ram_bytes` is at least 2 MiB.
std::vector<E820Entry> e820_map(uint64_t ram_bytes);

}  // namespace ringlane::vmm
