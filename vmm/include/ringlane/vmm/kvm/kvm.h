// The KVM API behind small owning types: the system (/dev/kvm), a VM, and its vCPUs. Every
// ioctl's failure comes back as an Error naming the call; nothing here knows about devices.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "ringlane/base/result.h"
#include "ringlane/base/unique_fd.h"

namespace ringlane::vmm {

// A present, ring-0, 4 GiB, page-granular code or data segment (`type` as in the descriptor):
// 32-bit, or 64-bit code (L set, D clear) with `code64`.
kvm_segment flat_segment(uint16_t selector, uint8_t type, bool code64 = false);

class Vcpu {
 public:
  Vcpu(Vcpu&& other) noexcept;
  Vcpu& operator=(Vcpu&&) = delete;
  Vcpu(const Vcpu&) = delete;
  ~Vcpu();

  int id() const { return id_; }
  int fd() const { return fd_.get(); }
  // The shared run structure: exit reason and data of the last KVM_RUN.
  kvm_run& run_state() { return *run_; }

  // Runs the vCPU until the next exit that KVM hands to user space.
  Status run();
  Result<kvm_regs> regs() const;
  Status set_regs(const kvm_regs& regs);
  Result<kvm_sregs> sregs() const;
  Status set_sregs(const kvm_sregs& sregs);
  Status set_cpuid(const std::vector<kvm_cpuid_entry2>& entries);
  // Writes model-specific registers: (index, value) pairs.
  Status set_msrs(const std::vector<std::pair<uint32_t, uint64_t>>& msrs);
  Status set_fpu(const kvm_fpu& fpu);
  // The in-kernel local APIC's registers (needs the in-kernel irqchip).
  Result<kvm_lapic_state> lapic() const;
  // KVM_MP_STATE_RUNNABLE, _HALTED, _UNINITIALIZED (an AP before INIT/SIPI), ...
  Result<uint32_t> mp_state() const;
  Status set_lapic(const kvm_lapic_state& lapic);
  // Makes the next (or the current) KVM_RUN return at once, so that another thread can stop this
  // vCPU: set here, then signal the thread running it; cleared by the vCPU's own thread.
  void set_immediate_exit(bool on) {
    __atomic_store_n(&run_->immediate_exit, on ? 1 : 0, __ATOMIC_SEQ_CST);
  }

 private:
  friend class Vm;
  Vcpu(int id, UniqueFd fd, kvm_run* run, size_t run_size)
      : id_(id), fd_(std::move(fd)), run_(run), run_size_(run_size) {}
  int id_;
  UniqueFd fd_;
  kvm_run* run_;
  size_t run_size_;
};

class Vm {
 public:
  int fd() const { return fd_.get(); }
  // Maps [host, host + size) at guest physical `gpa` as memory slot `slot`.
  Status set_memory(uint32_t slot, uint64_t gpa, uint64_t size, void* host);
  // Where KVM keeps the three-page TSS it needs on Intel hosts without unrestricted guest
  // (harmless elsewhere); before the first vCPU is created.
  Status set_tss_address(uint64_t gpa);
  // The in-kernel PIC/IOAPIC/LAPIC and the PIT.
  Status create_irqchip();
  Status create_pit();
  Result<Vcpu> create_vcpu(int id);
  // A guest write of `len` bytes to MMIO address `gpa` signals `fd` in the kernel, without an exit
  // to the VMM (doorbells). `assign` false removes it again.
  Status set_ioeventfd(uint64_t gpa, uint32_t len, int fd, bool assign);
  // Signalling `fd` raises interrupt `gsi` in the kernel (MSI routes and INTx lines).
  Status set_irqfd(int fd, uint32_t gsi, bool assign);
  // Replaces the whole GSI routing table (irqchip pins and MSI messages).
  Status set_gsi_routing(const std::vector<kvm_irq_routing_entry>& entries);
  // Drives an interrupt controller input (an INTx line) high or low.
  Status set_irq_line(uint32_t gsi, bool high);
  // The guest's TSC frequency (KVM_GET_TSC_KHZ on the VM), so guest cycle counts become time.
  Result<uint32_t> tsc_khz() const;

 private:
  friend class Kvm;
  Vm(UniqueFd fd, size_t run_size) : fd_(std::move(fd)), run_size_(run_size) {}
  UniqueFd fd_;
  size_t run_size_;
};

class Kvm {
 public:
  // Opens /dev/kvm and checks the API version and the capabilities the VMM relies on.
  static Result<Kvm> open();
  Result<Vm> create_vm();
  // CPUID leaves the host supports for guests, to hand to every vCPU.
  Result<std::vector<kvm_cpuid_entry2>> supported_cpuid() const;
  // KVM_CHECK_EXTENSION: whether (non-zero) and how much of `cap` KVM offers.
  int capability(int cap) const;

 private:
  Kvm(UniqueFd fd, size_t run_size) : fd_(std::move(fd)), run_size_(run_size) {}
  UniqueFd fd_;
  size_t run_size_;
};

}  // namespace ringlane::vmm
