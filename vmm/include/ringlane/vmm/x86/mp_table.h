// The Intel MultiProcessor Specification 1.4 tables: how a kernel without ACPI learns the CPUs,
// the IOAPIC and how ISA and PCI interrupts reach it (as kvmtool and Firecracker describe their
// machines). A floating pointer structure in the BIOS area points at a configuration table with
// one processor entry per vCPU, a PCI and an ISA bus, the in-kernel IOAPIC, the IO interrupt
// entries (ISA IRQ n on IOAPIC pin n, PCI slot s INTA# on pin PciBus::intx_gsi(s), level-triggered,
// active-high) and the local interrupt entries (ExtINT on LINT0 of the boot CPU, NMI on every
// CPU's LINT1).
#pragma once

#include <cstdint>
#include <vector>

#include "ringlane/base/result.h"
#include "ringlane/vmm/kvm/guest_ram.h"
#include "ringlane/vmm/x86/layout.h"

namespace ringlane::vmm {

// APIC IDs are vCPU indices and the IOAPIC takes the next ID: one byte each in the table.
inline constexpr int kMaxVcpus = 32;
inline constexpr uint8_t kMpPciBusId = 0;
inline constexpr uint8_t kMpIsaBusId = 1;

// The floating pointer and the configuration table for `vcpus` CPUs, as bytes to be placed at
// `address` (16-byte aligned, below 1 MiB), checksums filled in.
std::vector<uint8_t> build_mp_table(int vcpus, uint32_t address);

// Builds the table and writes it at kMpTableAddr (layout.h: in the BIOS area, reserved in the
// E820 map, which Linux scans for the floating pointer).
Status write_mp_table(const GuestRam& ram, int vcpus);

}  // namespace ringlane::vmm
