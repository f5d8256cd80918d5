// What a vCPU needs before its first run, beyond registers, as kvmtool and Firecracker set it:
// CPUID leaves with its own APIC ID and the hypervisor bit (without which Linux does not look for
// KVM's leaves and so never uses kvm-clock), the MSRs firmware leaves (fast strings on, MTRRs on
// with write-back default), its local APIC's LINT0 as ExtINT and LINT1 as NMI, and the FPU's
// reset control words.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

#include "ringlane/base/result.h"
#include "ringlane/vmm/kvm.h"

namespace ringlane::vmm {

// The host's supported leaves adjusted for vCPU `apic_id` of `vcpus`.
std::vector<kvm_cpuid_entry2> vcpu_cpuid(std::vector<kvm_cpuid_entry2> leaves, uint32_t apic_id,
                                         int vcpus);

// Sets CPUID (from the host's supported leaves), MSRs, LAPIC LINT pins and FPU of `vcpu`.
Status set_up_vcpu(Vcpu& vcpu, const std::vector<kvm_cpuid_entry2>& supported, int vcpus);

}  // namespace ringlane::vmm
