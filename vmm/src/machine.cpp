#include "ringlane/vmm/machine.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "ringlane/base/log.h"
#include "ringlane/base/monotonic_clock.h"
#include "ringlane/vmm/pvh_loader.h"

namespace ringlane::vmm {

namespace {

// Start-of-day layout below 1 MiB (the kernel loads at 1 MiB).
constexpr uint64_t kGdtAddr = 0x500;
constexpr uint64_t kStartInfoAddr = 0x6000;
constexpr uint64_t kMemmapAddr = 0x6100;
constexpr uint64_t kCmdlineAddr = 0x20000;
constexpr uint64_t kCmdlineMax = 4096;
constexpr uint64_t kLowRamEnd = 0x9fc00;  // the EBDA and ROM area above are not RAM
constexpr uint64_t kHighRamStart = 0x100000;
constexpr uint64_t kMaxMemory = 3ULL << 30;  // below the 32-bit PCI hole, until it is modelled

// hvm_start_info and hvm_memmap_table_entry (xen/include/public/arch-x86/hvm/start_info.h).
struct HvmStartInfo {
  uint32_t magic;
  uint32_t version;
  uint32_t flags;
  uint32_t nr_modules;
  uint64_t modlist_paddr;
  uint64_t cmdline_paddr;
  uint64_t rsdp_paddr;
  uint64_t memmap_paddr;
  uint32_t memmap_entries;
  uint32_t reserved;
};
struct HvmMemmapEntry {
  uint64_t addr;
  uint64_t size;
  uint32_t type;
  uint32_t reserved;
};
constexpr uint32_t kHvmStartMagic = 0x336ec578;
constexpr uint32_t kE820Ram = 1;

// Flat 4 GiB segments, as the PVH boot ABI requires.
constexpr uint16_t kCodeSelector = 0x10;
constexpr uint16_t kDataSelector = 0x18;
constexpr uint16_t kTssSelector = 0x20;
constexpr uint64_t kGdt[] = {
    0,
    0,
    0x00cf9b000000ffff,  // 0x10: code, 32-bit, 4 KiB granular
    0x00cf93000000ffff,  // 0x18: data
    0x00008b0000000067,  // 0x20: 32-bit TSS (busy)
};

kvm_segment flat_segment(uint16_t selector, uint8_t type) {
  kvm_segment s{};
  s.base = 0;
  s.limit = 0xffffffff;
  s.selector = selector;
  s.type = type;
  s.present = 1;
  s.dpl = 0;
  s.db = 1;
  s.s = 1;
  s.g = 1;
  return s;
}

template <typename T>
bool put(const GuestRam& ram, uint64_t gpa, const T& value) {
  std::span<uint8_t> dst = ram.bytes(gpa, sizeof(T));
  if (dst.empty()) return false;
  std::memcpy(dst.data(), &value, sizeof(T));
  return true;
}

}  // namespace

Result<std::unique_ptr<Machine>> Machine::create(const MachineConfig& config) {
  if (config.memory_bytes < (16ULL << 20) || config.memory_bytes > kMaxMemory) {
    return Error(EINVAL, "guest memory must be between 16 MiB and 3072 MiB");
  }
  if (config.cmdline.size() >= kCmdlineMax) {
    return Error(EINVAL, "kernel command line longer than 4095 bytes");
  }
  Result<Kvm> kvm = Kvm::open();
  if (!kvm.ok()) return kvm.error();
  Result<Vm> vm = kvm->create_vm();
  if (!vm.ok()) return vm.error();
  RINGLANE_TRY(vm->create_irqchip());
  RINGLANE_TRY(vm->create_pit());
  Result<GuestRam> ram = GuestRam::create(config.memory_bytes);
  if (!ram.ok()) return ram.error();
  RINGLANE_TRY(vm->set_memory(0, 0, ram->size(), ram->base()));
  vhost_user::RegionDescriptor region{0, ram->size(), reinterpret_cast<uint64_t>(ram->base()), 0};
  Result<vhost_user::GuestMemory> memory =
      vhost_user::GuestMemory::create({vhost_user::MappedRegion::wrap(region, ram->base())});
  if (!memory.ok()) return memory.error();
  Result<Vcpu> vcpu = vm->create_vcpu(0);
  if (!vcpu.ok()) return vcpu.error();
  // Without CPUID leaves a vCPU advertises nothing, long mode included.
  Result<std::vector<kvm_cpuid_entry2>> cpuid = kvm->supported_cpuid();
  if (!cpuid.ok()) return cpuid.error();
  RINGLANE_TRY(vcpu->set_cpuid(*cpuid));
  return std::unique_ptr<Machine>(new Machine(std::move(*kvm), std::move(*vm), std::move(*ram),
                                              std::move(*memory), std::move(*vcpu), config));
}

Status Machine::boot_pvh(std::span<const uint8_t> kernel) {
  Result<PvhKernel> k = load_pvh_kernel(kernel, ram_);
  if (!k.ok()) return k.error();

  HvmMemmapEntry memmap[] = {
      {0, kLowRamEnd, kE820Ram, 0},
      {kHighRamStart, ram_.size() - kHighRamStart, kE820Ram, 0},
  };
  HvmStartInfo info{};
  info.magic = kHvmStartMagic;
  info.version = 1;
  info.memmap_paddr = kMemmapAddr;
  info.memmap_entries = 2;
  info.cmdline_paddr = kCmdlineAddr;
  std::span<uint8_t> cmdline = ram_.bytes(kCmdlineAddr, config_.cmdline.size() + 1);
  if (cmdline.empty() || !put(ram_, kGdtAddr, kGdt) || !put(ram_, kMemmapAddr, memmap) ||
      !put(ram_, kStartInfoAddr, info)) {
    return Error(EINVAL, "boot structures do not fit in guest memory");
  }
  std::memcpy(cmdline.data(), config_.cmdline.c_str(), config_.cmdline.size() + 1);

  Result<kvm_sregs> sregs = vcpu_.sregs();
  if (!sregs.ok()) return sregs.error();
  kvm_sregs& s = *sregs;
  s.cs = flat_segment(kCodeSelector, 0xb);
  s.ds = s.es = s.fs = s.gs = s.ss = flat_segment(kDataSelector, 0x3);
  s.tr = flat_segment(kTssSelector, 0xb);
  s.tr.s = 0;
  s.tr.g = 0;
  s.tr.db = 0;
  s.tr.limit = 0x67;
  s.gdt.base = kGdtAddr;
  s.gdt.limit = sizeof(kGdt) - 1;
  s.cr0 = 0x1;  // protected mode, paging off
  s.cr4 = 0;
  s.efer = 0;
  RINGLANE_TRY(vcpu_.set_sregs(s));
  kvm_regs r{};
  r.rip = k->entry;
  r.rbx = kStartInfoAddr;
  r.rflags = 0x2;
  return vcpu_.set_regs(r);
}

std::optional<MachineExit> Machine::handle_pio(kvm_run& run) {
  ++counters_.pio_exits;
  auto* data = reinterpret_cast<uint8_t*>(&run) + run.io.data_offset;
  bool out = run.io.direction == KVM_EXIT_IO_OUT;
  for (uint32_t i = 0; i < run.io.count; ++i) {
    uint8_t* value = data + uint64_t{i} * run.io.size;
    uint16_t port = run.io.port;
    if (pci_.claims_port(port)) {
      if (out) {
        pci_.port_write(port, {value, run.io.size});
      } else {
        pci_.port_read(port, {value, run.io.size});
      }
      continue;
    }
    if (port >= SerialPort::kBase && port < SerialPort::kBase + SerialPort::kPorts &&
        run.io.size == 1) {
      if (out) {
        serial_.write(port - SerialPort::kBase, *value);
      } else {
        *value = serial_.read(port - SerialPort::kBase);
      }
      continue;
    }
    if (out ? pci_.io_write(port, {value, run.io.size})
            : pci_.io_read(port, {value, run.io.size})) {
      continue;
    }
    // Reset: the i8042's "pulse reset line" command, or the reset control register.
    if (out && run.io.size == 1 &&
        ((port == 0x64 && *value == 0xfe) || (port == 0xcf9 && (*value & 0x04) != 0))) {
      return MachineExit::reset;
    }
    ++counters_.unhandled_pio;
    if (!out) std::memset(value, 0xff, run.io.size);
  }
  return std::nullopt;
}

void Machine::handle_mmio(kvm_run& run) {
  ++counters_.mmio_exits;
  uint32_t len = std::min<uint32_t>(run.mmio.len, sizeof(run.mmio.data));
  bool handled = run.mmio.is_write ? pci_.mmio_write(run.mmio.phys_addr, {run.mmio.data, len})
                                   : pci_.mmio_read(run.mmio.phys_addr, {run.mmio.data, len});
  if (handled) return;
  ++counters_.unhandled_mmio;
  if (!run.mmio.is_write) std::memset(run.mmio.data, 0xff, sizeof(run.mmio.data));
}

void Machine::log_vcpu_state(const std::string& why) const {
  Result<kvm_regs> r = vcpu_.regs();
  Result<kvm_sregs> s = vcpu_.sregs();
  if (!r.ok() || !s.ok()) return;
  char line[256];
  std::snprintf(
      line, sizeof(line),
      "%s: rip %#llx rsp %#llx rflags %#llx cs %#x cr0 %#llx cr3 %#llx cr4 %#llx efer %#llx",
      why.c_str(), r->rip, r->rsp, r->rflags, s->cs.selector, s->cr0, s->cr3, s->cr4, s->efer);
  log_line(LogLevel::warn, line);
}

Result<MachineExit> Machine::run() {
  for (;;) {
    if (boot_times_.first_entry_ns == 0) boot_times_.first_entry_ns = monotonic_ns();
    RINGLANE_TRY(vcpu_.run());
    if (boot_times_.first_exit_ns == 0) boot_times_.first_exit_ns = monotonic_ns();
    ++counters_.exits;
    kvm_run& run = vcpu_.run_state();
    switch (run.exit_reason) {
      case KVM_EXIT_IO:
        if (std::optional<MachineExit> end = handle_pio(run)) return *end;
        break;
      case KVM_EXIT_MMIO:
        handle_mmio(run);
        break;
      case KVM_EXIT_SHUTDOWN:
        log_vcpu_state("triple fault");
        return MachineExit::shutdown;
      case KVM_EXIT_FAIL_ENTRY:
        return Error(EIO, "vCPU entry failed, hardware reason " +
                              std::to_string(run.fail_entry.hardware_entry_failure_reason));
      case KVM_EXIT_INTERNAL_ERROR:
        return Error(EIO, "KVM internal error, suberror " + std::to_string(run.internal.suberror));
      default:
        return Error(EIO, "unexpected KVM exit reason " + std::to_string(run.exit_reason));
    }
  }
}

}  // namespace ringlane::vmm
