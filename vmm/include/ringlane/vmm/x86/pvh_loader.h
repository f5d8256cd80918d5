// Loading a PVH kernel: an ELF file whose XEN_ELFNOTE_PHYS32_ENTRY note gives the 32-bit
// protected-mode entry point. The file is untrusted input: every header, segment and note is
// bounds-checked against the file and against guest memory before a byte is copied.
#pragma once

#include <cstdint>
#include <span>

#include "ringlane/base/result.h"
#include "ringlane/vmm/kvm/guest_ram.h"

namespace ringlane::vmm {

struct PvhKernel {
  uint32_t entry;     // physical entry point, from the note
  uint64_t load_end;  // first byte after the highest loaded segment
};

// Copies the PT_LOAD segments of `elf` into guest memory at their physical addresses (and
// zeroes their .bss parts). 32- and 64-bit x86 ELF files are accepted.
Result<PvhKernel> load_pvh_kernel(std::span<const uint8_t> elf, const GuestRam& ram);

}  // namespace ringlane::vmm
