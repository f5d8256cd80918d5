// Loading a Linux bzImage for the 64-bit boot protocol (Documentation/arch/x86/boot.rst): the
// setup header is parsed and validated, the protected-mode kernel is copied to its load address,
// the initrd to the top of usable RAM, and a zero page (struct boot_params) is written with the
// setup header, the command line pointer, the initrd and the E820 map. The image is untrusted
// input: every field used is checked against the file and guest memory before anything is copied.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "ringlane/base/result.h"
#include "ringlane/vmm/kvm/guest_ram.h"
#include "ringlane/vmm/x86/layout.h"

namespace ringlane::vmm {

// The setup header fields the loader relies on, validated against the file.
struct BzImageHeader {
  uint16_t version = 0;       // boot protocol, e.g. 0x020f for 2.15
  uint32_t setup_bytes = 0;   // the real-mode part (boot sector included) at the file's start
  uint64_t kernel_bytes = 0;  // the protected-mode part: the rest of the file
  uint32_t header_end = 0;    // file offset just past the setup header
  uint8_t loadflags = 0;
  uint16_t xloadflags = 0;  // 0 before protocol 2.12
  bool relocatable = false;
  uint32_t kernel_alignment = 0;
  uint64_t pref_address = 0;  // where the kernel wants to run (1 MiB before protocol 2.10)
  uint32_t init_size = 0;     // linear memory the kernel needs from its load address
  uint32_t initrd_addr_max = 0;
  uint32_t cmdline_size = 0;  // longest command line, without its terminating NUL
};

// Offsets and flags of the boot protocol that the loader and the machine share.
inline constexpr uint64_t kBzImageMagicOffset = 0x202;  // "HdrS"
inline constexpr uint16_t kXlfKernel64 = 1 << 0;        // has the 64-bit entry at +0x200
inline constexpr uint16_t kXlfCanBeLoadedAbove4g = 1 << 1;
inline constexpr uint64_t kEntry64Offset = 0x200;

// True when `image` carries the setup header magic, i.e. should be booted as a bzImage.
bool is_bzimage(std::span<const uint8_t> image);

// Parses and validates the setup header (boot protocol 2.06 or later, a bzImage).
Result<BzImageHeader> parse_bzimage_header(std::span<const uint8_t> image);

struct LinuxKernel {
  uint64_t load_address = 0;
  uint64_t entry64 = 0;  // 64-bit entry: load address + 0x200
  uint64_t boot_params = kBootParamsAddr;
  uint64_t initrd_address = 0;  // 0 without an initrd
  uint64_t initrd_size = 0;
};

// Loads `image` (with `initrd`, which may be empty, and `cmdline`) into `ram` for the 64-bit entry:
// the zero page at kBootParamsAddr, the command line at kCmdlineAddr (layout.h).
Result<LinuxKernel> load_bzimage(std::span<const uint8_t> image, std::span<const uint8_t> initrd,
                                 const std::string& cmdline, const GuestRam& ram);

}  // namespace ringlane::vmm
