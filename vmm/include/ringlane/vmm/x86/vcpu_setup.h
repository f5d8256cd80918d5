// What a vCPU needs before its first run, beyond registers, as kvmtool and Firecracker set it:
// CPUID leaves with its own APIC ID and the hypervisor bit (without which Linux does not look for
// KVM's leaves and so never uses kvm-clock), the TSC-deadline timer bit when KVM's local APIC
// emulates it (KVM leaves it out of the supported leaves; without it Linux calibrates the APIC
// timer against the PIT, which fails on slow or noisy hosts and leaves no one-shot timer), the MSRs
// firmware leaves (fast strings on, MTRRs on with write-back default), its local APIC's LINT0 as
// ExtINT and LINT1 as NMI, and the FPU's reset control words.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

#include "ringlane/base/result.h"
#include "ringlane/vmm/kvm/kvm.h"

namespace ringlane::vmm {

struct VcpuCpuidOptions {
  int vcpus = 1;
  bool tsc_deadline_timer = false;  // KVM_CAP_TSC_DEADLINE_TIMER
};

// The host's supported leaves adjusted for vCPU `apic_id`.
std::vector<kvm_cpuid_entry2> vcpu_cpuid(std::vector<kvm_cpuid_entry2> leaves, uint32_t apic_id,
                                         const VcpuCpuidOptions& options);

// Sets CPUID (from the host's supported leaves), MSRs, LAPIC LINT pins and FPU of `vcpu`.
Status set_up_vcpu(Vcpu& vcpu, const std::vector<kvm_cpuid_entry2>& supported,
                   const VcpuCpuidOptions& options);

}  // namespace ringlane::vmm
