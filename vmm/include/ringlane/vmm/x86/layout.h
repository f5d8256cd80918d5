// The guest-physical layout of a ringlane-vmm machine: every address and size the VMM chooses,
// each defined here once with what is there and why there, and the port I/O window it gives PCI.
// The static_asserts at the end check that no two regions overlap. There is no firmware: the VMM
// writes every boot structure itself, where the boot protocol in use expects to find it.
//
//   0x0-0x500            real-mode IVT and BIOS data area (left zero; Linux may look there)
//   0x500                GDT (both boot protocols)
//   0x6000, 0x6100       PVH hvm_start_info and its memory map
//   0x7000               Linux zero page (struct boot_params)
//   0x8000-0x8ff0        Linux boot stack
//   0x9000-0xf000        Linux page tables
//   0x20000              kernel command line (both)
//   0x9fc00-1 MiB        reserved: EBDA, legacy video, BIOS area (MP table at 0xf0000)
//   1 MiB-3 GiB          RAM: kernel from 1 MiB up, initrd at the top
//   3 GiB-4 GiB          PCI hole: BAR window, IOAPIC, local APIC, KVM's TSS
#pragma once

#include <cstdint>

namespace ringlane::vmm {

inline constexpr uint64_t kPageSize = 0x1000;

// --- RAM ---

// Guest RAM is one KVM memory slot from guest physical 0: both boot protocols, and Linux's early
// code, expect RAM at the bottom of the address space.
inline constexpr uint64_t kRamStart = 0;
// Low RAM ends where a PC's extended BIOS data area begins; the E820 map reserves from here to
// 1 MiB (EBDA, legacy video window, BIOS area), as Linux expects of a PC.
inline constexpr uint64_t kLowRamEnd = 0x9fc00;
// RAM above the legacy area. Kernels load here: a bzImage at its pref_address (never below this,
// and exactly this before boot protocol 2.10), a PVH ELF where its program headers say (the test
// guests at 1 MiB); the initrd goes page-aligned to the top of RAM below the PCI hole.
inline constexpr uint64_t kHighRamStart = 0x100000;

// --- Boot structures below 1 MiB ---

// The GDT both boot paths load (PVH: flat 32-bit segments and a TSS; Linux: 64-bit code and
// flat data at __BOOT_CS/__BOOT_DS): just above the real-mode IVT and BIOS data area.
inline constexpr uint64_t kGdtAddr = 0x500;
inline constexpr uint64_t kGdtSize = 0x100;
// PVH: the hvm_start_info that EBX points at on entry, with the E820 map right after it.
inline constexpr uint64_t kStartInfoAddr = 0x6000;
inline constexpr uint64_t kStartInfoSize = 0x100;
inline constexpr uint64_t kMemmapAddr = kStartInfoAddr + kStartInfoSize;
inline constexpr uint64_t kMemmapSize = 0xf00;  // 160 hvm_memmap_table_entry, to the zero page
// Linux: the zero page (struct boot_params, one page) that RSI points at on entry. 0x7000 is
// where other 64-bit-entry loaders (Firecracker, Cloud Hypervisor) put it too.
inline constexpr uint64_t kBootParamsAddr = 0x7000;
inline constexpr uint64_t kBootParamsSize = kPageSize;
// Linux: the stack RSP points at on entry, just below the page tables; the kernel switches to
// its own at once, so one page is plenty.
inline constexpr uint64_t kBootStackBase = 0x8000;
inline constexpr uint64_t kBootStackTop = 0x8ff0;
// Linux: the page tables that identity-map the low 4 GiB with 2 MiB pages: the PML4, the PDPT
// and four page directories, one page each, in that order.
inline constexpr uint64_t kPml4Addr = 0x9000;
inline constexpr uint64_t kPageTablesSize = 6 * kPageSize;
// The kernel command line, NUL included, for both protocols (the zero page's cmd_line_ptr, the
// start info's cmdline_paddr): a fixed place well clear of the structures above.
inline constexpr uint64_t kCmdlineAddr = 0x20000;
inline constexpr uint64_t kCmdlineMax = 4096;
// The MP table (floating pointer and configuration table, about 1.1 KiB for 32 vCPUs) in the
// BIOS area, the last 64 KiB below 1 MiB, which Linux scans for the floating pointer.
inline constexpr uint64_t kMpTableAddr = 0xf0000;
inline constexpr uint64_t kMpTableSize = kPageSize;

// --- The PCI hole: 3 GiB to 4 GiB ---

// Device memory below 4 GiB, as on a PC: no RAM appears here; RAM beyond kPciHoleStart would
// continue at kPciHoleEnd (the E820 map says so), though this VMM does not map any there yet.
inline constexpr uint64_t kPciHoleStart = 0xc0000000;
inline constexpr uint64_t kPciHoleEnd = 0x100000000;
// So guest RAM is at most what fits below the hole.
inline constexpr uint64_t kMaxRamBytes = kPciHoleStart - kRamStart;
// KVM's in-kernel IOAPIC and the local APICs, at the PC's fixed addresses (the MP table tells the
// guest so). MSI messages are addressed into the megabyte that starts at the local APIC.
inline constexpr uint64_t kIoApicAddr = 0xfec00000;
inline constexpr uint64_t kIoApicSize = kPageSize;
inline constexpr uint64_t kLocalApicAddr = 0xfee00000;
inline constexpr uint64_t kLocalApicSize = kPageSize;
// The window the VMM places memory BARs in when a device is plugged, as firmware would: the
// whole hole up to the IOAPIC, which 32-bit BARs and guests without 64-bit PCI support reach.
inline constexpr uint64_t kPciMmioStart = kPciHoleStart;
inline constexpr uint64_t kPciMmioEnd = kIoApicAddr;
// KVM_SET_TSS_ADDR: three pages that Intel hosts without unrestricted guest need to emulate real
// mode, at the address Firecracker uses: above everything the guest is told about, below 4 GiB
// (KVM's default EPT identity-map page sits right below it, at 0xfffbc000).
inline constexpr uint64_t kTssAddr = 0xfffbd000;
inline constexpr uint64_t kTssSize = 3 * kPageSize;

// --- Port I/O space ---

// The window I/O BARs are placed in: above the legacy ISA ports, where PC firmware puts them, to
// the end of the 64 KiB space.
inline constexpr uint64_t kPciIoStart = 0xc000;
inline constexpr uint64_t kPciIoEnd = 0x10000;

// --- Checks ---

namespace layout_check {
struct Region {
  uint64_t start;
  uint64_t size;
};
inline constexpr Region kRegions[] = {
    {kGdtAddr, kGdtSize},
    {kStartInfoAddr, kStartInfoSize},
    {kMemmapAddr, kMemmapSize},
    {kBootParamsAddr, kBootParamsSize},
    {kBootStackBase, kBootStackTop - kBootStackBase},
    {kPml4Addr, kPageTablesSize},
    {kCmdlineAddr, kCmdlineMax},
    {kMpTableAddr, kMpTableSize},
    {kPciMmioStart, kPciMmioEnd - kPciMmioStart},
    {kIoApicAddr, kIoApicSize},
    {kLocalApicAddr, kLocalApicSize},
    {kTssAddr, kTssSize},
};
constexpr bool disjoint() {
  for (const Region& a : kRegions) {
    for (const Region& b : kRegions) {
      if (&a != &b && a.start < b.start + b.size && b.start < a.start + a.size) return false;
    }
  }
  return true;
}
constexpr bool within(uint64_t start, uint64_t size, uint64_t lo, uint64_t hi) {
  return lo <= start && start + size <= hi;
}
}  // namespace layout_check

static_assert(layout_check::disjoint(), "two regions of the guest-physical layout overlap");
// The boot structures are in low RAM, which the E820 map gives the kernel after boot.
static_assert(layout_check::within(kGdtAddr, kCmdlineAddr + kCmdlineMax - kGdtAddr, kRamStart,
                                   kLowRamEnd));
// The MP table is in the reserved BIOS area, where the kernel will not allocate over it.
static_assert(layout_check::within(kMpTableAddr, kMpTableSize, kLowRamEnd, kHighRamStart));
// Everything that is not RAM is in the hole, and the stack is 16-byte aligned.
static_assert(layout_check::within(kPciMmioStart, kTssAddr + kTssSize - kPciMmioStart,
                                   kPciHoleStart, kPciHoleEnd));
static_assert(kBootStackTop % 16 == 0);
static_assert(layout_check::within(kPciIoStart, kPciIoEnd - kPciIoStart, 0, 0x10000));

}  // namespace ringlane::vmm
