#include "ringlane/vmm/x86/long_mode.h"

#include <cstring>

#include "ringlane/vmm/kvm/kvm.h"

namespace ringlane::vmm {

namespace {

constexpr uint64_t kGdt[] = {
    0, 0,
    0x00af9b000000ffff,  // 0x10: code, 64-bit (L), present, execute/read
    0x00cf93000000ffff,  // 0x18: data, flat 4 GiB, read/write
};

constexpr uint64_t kPresent = 1 << 0;
constexpr uint64_t kWritable = 1 << 1;
constexpr uint64_t kLargePage = 1 << 7;
constexpr uint64_t kPdptAddr = kPml4Addr + kPageSize;
constexpr uint64_t kPdAddr = kPml4Addr + 2 * kPageSize;
constexpr uint64_t kGiB = 1ULL << 30;
constexpr uint64_t kTwoMiB = 2ULL << 20;

constexpr uint64_t kCr0Pe = 1ULL << 0;
constexpr uint64_t kCr0Mp = 1ULL << 1;
constexpr uint64_t kCr0Et = 1ULL << 4;
constexpr uint64_t kCr0Ne = 1ULL << 5;
constexpr uint64_t kCr0Wp = 1ULL << 16;
constexpr uint64_t kCr0Pg = 1ULL << 31;
constexpr uint64_t kCr4Pae = 1ULL << 5;
constexpr uint64_t kEferLme = 1ULL << 8;
constexpr uint64_t kEferLma = 1ULL << 10;

static_assert(sizeof(kGdt) <= kGdtSize);
static_assert(kPdAddr + 4 * kPageSize == kPml4Addr + kPageTablesSize);

}  // namespace

Result<kvm_sregs> enter_long_mode(const GuestRam& ram, kvm_sregs s) {
  std::span<uint8_t> gdt = ram.bytes(kGdtAddr, sizeof(kGdt));
  std::span<uint8_t> tables = ram.bytes(kPml4Addr, kPageTablesSize);
  if (gdt.empty() || tables.empty()) {
    return Error(EINVAL, "guest RAM too small for the GDT and page tables");
  }
  std::memcpy(gdt.data(), kGdt, sizeof(kGdt));
  std::memset(tables.data(), 0, tables.size());
  auto put = [&](uint64_t gpa, uint64_t entry) {
    std::memcpy(tables.data() + (gpa - kPml4Addr), &entry, sizeof(entry));
  };
  put(kPml4Addr, kPdptAddr | kPresent | kWritable);
  for (uint64_t gib = 0; gib < 4; ++gib) {
    uint64_t pd = kPdAddr + gib * kPageSize;
    put(kPdptAddr + gib * 8, pd | kPresent | kWritable);
    for (uint64_t i = 0; i < 512; ++i) {
      put(pd + i * 8, (gib * kGiB + i * kTwoMiB) | kPresent | kWritable | kLargePage);
    }
  }

  s.cs = flat_segment(kBootCodeSelector, 0xb, true);  // execute/read, accessed
  s.ds = s.es = s.fs = s.gs = s.ss = flat_segment(kBootDataSelector, 0x3);
  // Entry checks want a busy TSS in TR even though nothing here switches tasks.
  s.tr = kvm_segment{};
  s.tr.limit = 0x67;
  s.tr.type = 0xb;
  s.tr.present = 1;
  s.gdt.base = kGdtAddr;
  s.gdt.limit = sizeof(kGdt) - 1;
  s.idt.base = 0;
  s.idt.limit = 0;  // interrupts stay off until the kernel loads its own IDT
  s.cr0 = kCr0Pe | kCr0Mp | kCr0Et | kCr0Ne | kCr0Wp | kCr0Pg;
  s.cr3 = kPml4Addr;
  s.cr4 = kCr4Pae;
  s.efer = kEferLme | kEferLma;
  return s;
}

}  // namespace ringlane::vmm
