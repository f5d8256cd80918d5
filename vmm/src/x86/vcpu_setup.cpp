#include "ringlane/vmm/x86/vcpu_setup.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace ringlane::vmm {

namespace {

constexpr uint32_t kLeafFeatures = 0x1;
constexpr uint32_t kLeafTopology = 0xb;
constexpr uint32_t kLeafTopologyV2 = 0x1f;
constexpr uint32_t kLeafAmdSizes = 0x80000008;
constexpr uint32_t kLeafAmdTopology = 0x8000001e;
constexpr uint32_t kEcxTscDeadline = 1U << 24;
constexpr uint32_t kEcxHypervisor = 1U << 31;
constexpr uint32_t kEdxHtt = 1U << 28;

constexpr uint32_t kMsrMiscEnable = 0x1a0;
constexpr uint64_t kMiscEnableFastString = 1;
constexpr uint32_t kMsrMtrrDefType = 0x2ff;
constexpr uint64_t kMtrrEnable = 1 << 11;
constexpr uint64_t kMemTypeWriteBack = 6;

constexpr uint32_t kApicLvt0 = 0x350;
constexpr uint32_t kApicLvt1 = 0x360;
constexpr uint32_t kDeliveryModeMask = 0x700;
constexpr uint32_t kDeliveryExtInt = 0x700;
constexpr uint32_t kDeliveryNmi = 0x400;

constexpr uint32_t kAmdVendorEbx = 0x68747541;  // "Auth" of "AuthenticAMD"

// Bits needed to number `count` cores.
uint32_t apic_id_bits(uint32_t count) {
  uint32_t bits = 0;
  while ((1U << bits) < count) ++bits;
  return bits;
}

uint32_t lapic_reg(const kvm_lapic_state& s, uint32_t offset) {
  uint32_t v;
  std::memcpy(&v, s.regs + offset, sizeof(v));
  return v;
}

void set_lapic_reg(kvm_lapic_state& s, uint32_t offset, uint32_t v) {
  std::memcpy(s.regs + offset, &v, sizeof(v));
}

}  // namespace

std::vector<kvm_cpuid_entry2> vcpu_cpuid(std::vector<kvm_cpuid_entry2> leaves, uint32_t apic_id,
                                         const VcpuCpuidOptions& options) {
  const auto count = static_cast<uint32_t>(std::clamp(options.vcpus, 1, 255));
  bool amd = false;
  for (const kvm_cpuid_entry2& e : leaves) {
    if (e.function == 0 && e.ebx == kAmdVendorEbx) amd = true;
  }
  for (kvm_cpuid_entry2& e : leaves) {
    switch (e.function) {
      case kLeafFeatures:
        // EBX: initial APIC ID in 31:24, logical processors per package in 23:16.
        e.ebx = (e.ebx & 0xffff) | (apic_id << 24) | (count << 16);
        e.ecx |= kEcxHypervisor;
        if (options.tsc_deadline_timer) e.ecx |= kEcxTscDeadline;
        if (count > 1) {
          e.edx |= kEdxHtt;
        } else {
          e.edx &= ~kEdxHtt;
        }
        break;
      case kLeafTopology:
      case kLeafTopologyV2:
        e.edx = apic_id;  // x2APIC ID, in every sub-leaf
        break;
      case kLeafAmdSizes:
        // AMD: ECX holds the package's core count - 1 (bits 7:0) and how many low APIC ID bits
        // number the core (15:12); the host's say nothing about this machine. All vCPUs are
        // cores of one package. (Reserved on Intel, where Linux reads leaf 0xb instead.)
        if (amd) e.ecx = (e.ecx & ~0xf0ffU) | (apic_id_bits(count) << 12) | (count - 1);
        break;
      case kLeafAmdTopology:
        e.eax = apic_id;  // extended APIC ID
        break;
      default:
        break;
    }
  }
  return leaves;
}

Status set_up_vcpu(Vcpu& vcpu, const std::vector<kvm_cpuid_entry2>& supported,
                   const VcpuCpuidOptions& options) {
  RINGLANE_TRY(vcpu.set_cpuid(vcpu_cpuid(supported, static_cast<uint32_t>(vcpu.id()), options)));
  // The other MSRs Firecracker writes (SYSENTER, STAR, LSTAR, ...) are already zero at creation.
  RINGLANE_TRY(vcpu.set_msrs({{kMsrMiscEnable, kMiscEnableFastString},
                              {kMsrMtrrDefType, kMtrrEnable | kMemTypeWriteBack}}));
  Result<kvm_lapic_state> lapic = vcpu.lapic();
  if (!lapic.ok()) return lapic.error();
  set_lapic_reg(*lapic, kApicLvt0,
                (lapic_reg(*lapic, kApicLvt0) & ~kDeliveryModeMask) | kDeliveryExtInt);
  set_lapic_reg(*lapic, kApicLvt1,
                (lapic_reg(*lapic, kApicLvt1) & ~kDeliveryModeMask) | kDeliveryNmi);
  RINGLANE_TRY(vcpu.set_lapic(*lapic));
  kvm_fpu fpu{};
  fpu.fcw = 0x37f;     // all x87 exceptions masked, 64-bit precision
  fpu.mxcsr = 0x1f80;  // all SSE exceptions masked
  return vcpu.set_fpu(fpu);
}

}  // namespace ringlane::vmm
