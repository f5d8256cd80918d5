// The boot vCPU's state for a kernel entered in 64-bit mode (Linux's 64-bit boot protocol):
// page tables that identity-map the low 4 GiB with 2 MiB pages (RAM, the PCI hole and the APICs,
// everything the kernel touches before it builds its own), a GDT with flat 64-bit code and data
// segments at the selectors the protocol names, and long mode with paging on.
#pragma once

#include <linux/kvm.h>

#include <cstdint>

#include "ringlane/base/result.h"
#include "ringlane/vmm/kvm/guest_ram.h"
#include "ringlane/vmm/x86/layout.h"

namespace ringlane::vmm {

// __BOOT_CS and __BOOT_DS of Linux's boot protocol.
inline constexpr uint16_t kBootCodeSelector = 0x10;
inline constexpr uint16_t kBootDataSelector = 0x18;

// Writes the GDT (at kGdtAddr) and the page tables (at kPml4Addr) into `ram` and returns `sregs`
// changed to use them: CR0 (protected mode, paging), CR3, CR4.PAE, EFER.LME|LMA, 64-bit CS, flat
// data segments.
Result<kvm_sregs> enter_long_mode(const GuestRam& ram, kvm_sregs sregs);

}  // namespace ringlane::vmm
