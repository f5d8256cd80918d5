// CPUID adjustments per vCPU, and the long mode start state for Linux's 64-bit entry.
#include "ringlane/vmm/x86/vcpu_setup.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "ringlane/vmm/x86/long_mode.h"

namespace ringlane::vmm {
namespace {

kvm_cpuid_entry2 leaf(uint32_t function, uint32_t index = 0) {
  kvm_cpuid_entry2 e{};
  e.function = function;
  e.index = index;
  e.ebx = 0x00010800;  // a CLFLUSH size in bits 15:8, APIC ID 1 from the host
  e.edx = 0x10000000;
  return e;
}

const kvm_cpuid_entry2& find(const std::vector<kvm_cpuid_entry2>& v, uint32_t f, uint32_t i = 0) {
  for (const kvm_cpuid_entry2& e : v) {
    if (e.function == f && e.index == i) return e;
  }
  static kvm_cpuid_entry2 none{};
  ADD_FAILURE() << "no leaf " << f;
  return none;
}

TEST(VcpuCpuidTest, ApicIdsHypervisorBitAndTscDeadline) {
  std::vector<kvm_cpuid_entry2> host = {leaf(0x1), leaf(0xb, 0), leaf(0xb, 1), leaf(0x8000001e),
                                        leaf(0x7)};
  std::vector<kvm_cpuid_entry2> v = vcpu_cpuid(host, 3, {4, true});
  const kvm_cpuid_entry2& l1 = find(v, 0x1);
  EXPECT_EQ(l1.ebx >> 24, 3u);
  EXPECT_EQ((l1.ebx >> 16) & 0xff, 4u);
  EXPECT_EQ(l1.ebx & 0xffff, 0x0800u);  // the rest of EBX stays
  EXPECT_NE(l1.ecx & (1U << 31), 0u);   // hypervisor
  EXPECT_NE(l1.ecx & (1U << 24), 0u);   // TSC deadline
  EXPECT_NE(l1.edx & (1U << 28), 0u);   // HTT: more than one logical CPU
  EXPECT_EQ(find(v, 0xb, 0).edx, 3u);
  EXPECT_EQ(find(v, 0xb, 1).edx, 3u);
  EXPECT_EQ(find(v, 0x8000001e).eax, 3u);
  EXPECT_EQ(find(v, 0x7).ebx, host[4].ebx);  // other leaves untouched

  std::vector<kvm_cpuid_entry2> one = vcpu_cpuid(host, 0, {1, false});
  EXPECT_EQ(find(one, 0x1).ecx & (1U << 24), 0u);
  EXPECT_EQ(find(one, 0x1).edx & (1U << 28), 0u);
  EXPECT_EQ(find(one, 0x1).ebx >> 24, 0u);
}

TEST(VcpuCpuidTest, AmdCoreCountInLeaf80000008) {
  kvm_cpuid_entry2 vendor = leaf(0x0);
  vendor.ebx = 0x68747541;  // "Auth"
  kvm_cpuid_entry2 sizes = leaf(0x80000008);
  sizes.ecx = 0x0000700f;  // the host's: 16 cores, 7 ID bits
  std::vector<kvm_cpuid_entry2> v = vcpu_cpuid({vendor, sizes}, 2, {3, false});
  EXPECT_EQ(find(v, 0x80000008).ecx, 0x00002002u);  // 3 cores, 2 ID bits
  vendor.ebx = 0x756e6547;                          // "Genu": left alone
  v = vcpu_cpuid({vendor, sizes}, 2, {3, false});
  EXPECT_EQ(find(v, 0x80000008).ecx, 0x0000700fu);
}

TEST(LongModeTest, IdentityMapsFourGiBAndSetsLongMode) {
  GuestRam ram = std::move(*GuestRam::create(1 << 20));
  Result<kvm_sregs> s = enter_long_mode(ram, kvm_sregs{});
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  EXPECT_EQ(s->cr3, kPml4Addr);
  EXPECT_NE(s->cr0 & 0x80000001ULL, 0u);
  EXPECT_EQ(s->cr0 & 0x80000001ULL, 0x80000001ULL);  // paging and protection
  EXPECT_NE(s->cr4 & 0x20, 0u);                      // PAE
  EXPECT_EQ(s->efer & 0x500, 0x500u);                // LME, LMA
  EXPECT_EQ(s->cs.selector, kBootCodeSelector);
  EXPECT_EQ(s->cs.l, 1);
  EXPECT_EQ(s->cs.db, 0);
  EXPECT_EQ(s->ds.selector, kBootDataSelector);
  EXPECT_EQ(s->ss.selector, kBootDataSelector);

  // Walk the tables for a few addresses: RAM, the kernel's load address, the IOAPIC, LAPIC.
  auto entry = [&](uint64_t table, uint64_t index) {
    uint64_t e;
    std::memcpy(&e, ram.base() + table + index * 8, 8);
    return e;
  };
  for (uint64_t va : {0x0ULL, 0x1000000ULL, 0xbfe00000ULL, 0xfec00000ULL, 0xfee00000ULL}) {
    uint64_t pml4e = entry(kPml4Addr, (va >> 39) & 511);
    ASSERT_EQ(pml4e & 1, 1u) << va;
    uint64_t pdpte = entry(pml4e & ~0xfffULL, (va >> 30) & 511);
    ASSERT_EQ(pdpte & 1, 1u) << va;
    uint64_t pde = entry(pdpte & ~0xfffULL, (va >> 21) & 511);
    EXPECT_EQ(pde & 0x83, 0x83u) << va;  // present, writable, 2 MiB page
    EXPECT_EQ(pde & ~0x1fffffULL, va & ~0x1fffffULL) << va;
  }
  GuestRam tiny = std::move(*GuestRam::create(0x8000));
  EXPECT_FALSE(enter_long_mode(tiny, kvm_sregs{}).ok());
}

}  // namespace
}  // namespace ringlane::vmm
