#include "ringlane/vmm/machine/machine.h"

#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <utility>

#include "ringlane/base/log.h"
#include "ringlane/base/monotonic_clock.h"
#include "ringlane/vmm/x86/bzimage_loader.h"
#include "ringlane/vmm/x86/e820.h"
#include "ringlane/vmm/x86/layout.h"
#include "ringlane/vmm/x86/long_mode.h"
#include "ringlane/vmm/x86/mp_table.h"
#include "ringlane/vmm/x86/pvh_loader.h"
#include "ringlane/vmm/x86/vcpu_setup.h"

namespace ringlane::vmm {

namespace {

// Sent to a vCPU thread to make its KVM_RUN return (with immediate_exit set) when the machine
// ends, or to ask whether it is halted; the handler does nothing, the interruption is the point.
// (SIGRTMIN is a function call, hence a function.)
int kick_signal() {
  return SIGRTMIN + 1;
}
constexpr auto kHaltProbePeriod = std::chrono::milliseconds(200);
constexpr uint64_t kRflagsIf = 1 << 9;
// POST codes, and Linux's default I/O delay: writes to it are expected and mean nothing.
constexpr uint16_t kPostPort = 0x80;
// Ranges on the port I/O bus besides the I/O BARs: serial, i8042 (two), CMOS, POST, chipset.
constexpr size_t kLegacyPortRanges = 6;

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
static_assert(sizeof(HvmStartInfo) <= kStartInfoSize);

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
static_assert(sizeof(kGdt) <= kGdtSize);

template <typename T>
bool put(const GuestRam& ram, uint64_t gpa, const T& value) {
  std::span<uint8_t> dst = ram.bytes(gpa, sizeof(T));
  if (dst.empty()) return false;
  std::memcpy(dst.data(), &value, sizeof(T));
  return true;
}

void install_kick_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_handler = [](int) {};
    sigemptyset(&sa.sa_mask);
    // KVM_RUN returns EINTR whatever SA_RESTART says; other system calls of a vCPU thread (a
    // console write to a full pipe) carry on.
    sa.sa_flags = SA_RESTART;
    sigaction(kick_signal(), &sa, nullptr);
  });
}

}  // namespace

Machine::Machine(Kvm kvm, Vm vm, GuestRam ram, virtio::GuestMemory memory, std::vector<Vcpu> vcpus,
                 const MachineConfig& config)
    : kvm_(std::move(kvm)),
      vm_(std::move(vm)),
      ram_(std::move(ram)),
      guest_memory_(std::move(memory)),
      vcpus_(std::move(vcpus)),
      config_(config),
      // ISA interrupts: KVM_IRQ_LINE drives the PIC and IOAPIC input with the device's level.
      serial_(config.serial_fd,
              [this](bool high) { (void)vm_.set_irq_line(SerialPort::kIrq, high); }),
      i8042_([this](bool high) { (void)vm_.set_irq_line(I8042::kIrq, high); }),
      gsi_routing_(vm_),
      pci_({kPciMmioStart, kPciMmioEnd}, {kPciIoStart, kPciIoEnd}),
      pio_bus_("port I/O", kLegacyPortRanges + PciBarWindows::kCount),
      mmio_bus_("MMIO", PciBarWindows::kCount),
      serial_ports_(
          [this](uint16_t port) { return serial_.read(port - SerialPort::kBase); },
          [this](uint16_t port, uint8_t value) { serial_.write(port - SerialPort::kBase, value); }),
      i8042_ports_([this](uint16_t port) { return i8042_.read(port); },
                   [this](uint16_t port, uint8_t value) {
                     if (i8042_.write(port, value)) requested_exit_ = MachineExit::reset;
                   }),
      rtc_ports_([this](uint16_t port) { return rtc_.read(port); },
                 [this](uint16_t port, uint8_t value) { rtc_.write(port, value); }),
      post_port_(nullptr, [](uint16_t, uint8_t) {}),
      chipset_ports_(pci_, [this] { requested_exit_ = MachineExit::reset; }),
      bar_windows_(pio_bus_, mmio_bus_) {}

Status Machine::attach_devices() {
  struct {
    uint64_t base;
    uint64_t size;
    BusDevice& device;
  } ports[] = {
      {SerialPort::kBase, SerialPort::kPorts, serial_ports_},
      {I8042::kDataPort, 1, i8042_ports_},
      {I8042::kCommandPort, 1, i8042_ports_},
      {CmosRtc::kIndexPort, 2, rtc_ports_},
      {kPostPort, 1, post_port_},
      {ChipsetPorts::kBase, ChipsetPorts::kPorts, chipset_ports_},
  };
  static_assert(std::size(ports) == kLegacyPortRanges);
  static_assert(CmosRtc::kDataPort == CmosRtc::kIndexPort + 1);
  for (const auto& p : ports) RINGLANE_TRY(pio_bus_.insert(p.base, p.size, p.device));
  // Every BAR change (and every device plugged) moves the BARs' ranges on the buses.
  pci_.set_decoding_listener([this] { bar_windows_.sync(pci_); });
  return {};
}

Result<std::unique_ptr<Machine>> Machine::create(const MachineConfig& config) {
  if (config.memory_bytes < (16ULL << 20) || config.memory_bytes > kMaxRamBytes) {
    return Error(EINVAL, "guest memory must be between 16 MiB and 3072 MiB");
  }
  if (config.cmdline.size() >= kCmdlineMax) {
    return Error(EINVAL, "kernel command line longer than 4095 bytes");
  }
  if (config.vcpus < 1 || config.vcpus > kMaxVcpus) {
    return Error(EINVAL, "vCPUs must be between 1 and " + std::to_string(kMaxVcpus));
  }
  Result<Kvm> kvm = Kvm::open();
  if (!kvm.ok()) return kvm.error();
  Result<Vm> vm = kvm->create_vm();
  if (!vm.ok()) return vm.error();
  RINGLANE_TRY(vm->set_tss_address(kTssAddr));
  RINGLANE_TRY(vm->create_irqchip());
  RINGLANE_TRY(vm->create_pit());
  Result<GuestRam> ram = GuestRam::create(config.memory_bytes, config.hugepages);
  if (!ram.ok()) return ram.error();
  RINGLANE_TRY(vm->set_memory(0, kRamStart, ram->size(), ram->base()));
  virtio::RegionDescriptor region{kRamStart, ram->size(), reinterpret_cast<uint64_t>(ram->base()),
                                  0};
  Result<virtio::GuestMemory> memory =
      virtio::GuestMemory::create({virtio::MappedRegion::wrap(region, ram->base())});
  if (!memory.ok()) return memory.error();
  // Without CPUID leaves a vCPU advertises nothing, long mode included.
  Result<std::vector<kvm_cpuid_entry2>> cpuid = kvm->supported_cpuid();
  if (!cpuid.ok()) return cpuid.error();
  VcpuCpuidOptions options;
  options.vcpus = config.vcpus;
  options.tsc_deadline_timer = kvm->capability(KVM_CAP_TSC_DEADLINE_TIMER) > 0;
  std::vector<Vcpu> vcpus;
  for (int id = 0; id < config.vcpus; ++id) {
    Result<Vcpu> vcpu = vm->create_vcpu(id);
    if (!vcpu.ok()) return vcpu.error();
    RINGLANE_TRY(set_up_vcpu(*vcpu, *cpuid, options));
    vcpus.push_back(std::move(*vcpu));
  }
  std::unique_ptr<Machine> machine(new Machine(std::move(*kvm), std::move(*vm), std::move(*ram),
                                               std::move(*memory), std::move(vcpus), config));
  RINGLANE_TRY(machine->attach_devices());
  return machine;
}

Status Machine::boot_pvh(std::span<const uint8_t> kernel) {
  Result<PvhKernel> k = load_pvh_kernel(kernel, ram_);
  if (!k.ok()) return k.error();

  std::vector<HvmMemmapEntry> memmap;
  for (const E820Entry& e : e820_map(ram_.size())) {
    memmap.push_back({e.addr, e.size, static_cast<uint32_t>(e.type), 0});
  }
  HvmStartInfo info{};
  info.magic = kHvmStartMagic;
  info.version = 1;
  info.memmap_paddr = kMemmapAddr;
  info.memmap_entries = static_cast<uint32_t>(memmap.size());
  const uint64_t memmap_bytes = memmap.size() * sizeof(HvmMemmapEntry);
  std::span<uint8_t> memmap_dst = ram_.bytes(kMemmapAddr, memmap_bytes);
  info.cmdline_paddr = kCmdlineAddr;
  std::span<uint8_t> cmdline = ram_.bytes(kCmdlineAddr, config_.cmdline.size() + 1);
  if (memmap_bytes > kMemmapSize || cmdline.empty() || memmap_dst.empty() ||
      !put(ram_, kGdtAddr, kGdt) || !put(ram_, kStartInfoAddr, info)) {
    return Error(EINVAL, "boot structures do not fit in guest memory");
  }
  std::memcpy(memmap_dst.data(), memmap.data(), memmap_dst.size());
  std::memcpy(cmdline.data(), config_.cmdline.c_str(), config_.cmdline.size() + 1);

  Vcpu& vcpu = vcpus_[0];
  Result<kvm_sregs> sregs = vcpu.sregs();
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
  RINGLANE_TRY(vcpu.set_sregs(s));
  kvm_regs r{};
  r.rip = k->entry;
  r.rbx = kStartInfoAddr;
  r.rflags = 0x2;
  return vcpu.set_regs(r);
}

Status Machine::boot_linux(std::span<const uint8_t> kernel, std::span<const uint8_t> initrd) {
  Result<LinuxKernel> k = load_bzimage(kernel, initrd, config_.cmdline, ram_);
  if (!k.ok()) return k.error();
  RINGLANE_TRY(write_mp_table(ram_, vcpu_count()));
  Vcpu& vcpu = vcpus_[0];
  Result<kvm_sregs> sregs = vcpu.sregs();
  if (!sregs.ok()) return sregs.error();
  Result<kvm_sregs> long_mode = enter_long_mode(ram_, *sregs);
  if (!long_mode.ok()) return long_mode.error();
  RINGLANE_TRY(vcpu.set_sregs(*long_mode));
  kvm_regs r{};
  r.rip = k->entry64;
  r.rsi = k->boot_params;
  r.rsp = kBootStackTop;
  r.rflags = 0x2;  // interrupts off
  return vcpu.set_regs(r);
}

std::optional<MachineExit> Machine::handle_pio(kvm_run& run) {
  ++counters_.pio_exits;
  auto* data = reinterpret_cast<uint8_t*>(&run) + run.io.data_offset;
  bool out = run.io.direction == KVM_EXIT_IO_OUT;
  std::lock_guard lock(io_mutex_);
  // A string instruction's accesses, one after the other, until one ends the machine.
  for (uint32_t i = 0; i < run.io.count && !requested_exit_; ++i) {
    std::span<uint8_t> value(data + uint64_t{i} * run.io.size, run.io.size);
    if (out ? pio_bus_.write(run.io.port, value) : pio_bus_.read(run.io.port, value)) continue;
    ++counters_.unhandled_pio;
    ++unhandled_ports_[run.io.port];
    if (!out) std::memset(value.data(), 0xff, value.size());
  }
  return std::exchange(requested_exit_, std::nullopt);
}

std::string Machine::unhandled_ports() const {
  std::string out;
  for (const auto& [port, count] : unhandled_ports_) {
    char item[32];
    std::snprintf(item, sizeof(item), "%s%#x x%llu", out.empty() ? "" : ", ", port,
                  static_cast<unsigned long long>(count));
    out += item;
  }
  return out;
}

std::optional<MachineExit> Machine::handle_mmio(kvm_run& run) {
  ++counters_.mmio_exits;
  std::lock_guard lock(io_mutex_);
  uint32_t len = std::min<uint32_t>(run.mmio.len, sizeof(run.mmio.data));
  std::span<uint8_t> value(run.mmio.data, len);
  if (!(run.mmio.is_write ? mmio_bus_.write(run.mmio.phys_addr, value)
                          : mmio_bus_.read(run.mmio.phys_addr, value))) {
    ++counters_.unhandled_mmio;
    if (!run.mmio.is_write) std::memset(run.mmio.data, 0xff, sizeof(run.mmio.data));
  }
  return std::exchange(requested_exit_, std::nullopt);
}

void Machine::log_vcpu_state(const Vcpu& vcpu, const std::string& why) const {
  Result<kvm_regs> r = vcpu.regs();
  Result<kvm_sregs> s = vcpu.sregs();
  if (!r.ok() || !s.ok()) return;
  char line[256];
  std::snprintf(line, sizeof(line),
                "vCPU %d %s: rip %#llx rsp %#llx rflags %#llx cs %#x cr0 %#llx cr3 %#llx cr4 %#llx "
                "efer %#llx",
                vcpu.id(), why.c_str(), r->rip, r->rsp, r->rflags, s->cs.selector, s->cr0, s->cr3,
                s->cr4, s->efer);
  log_line(LogLevel::warn, line);
}

void Machine::stop_all(Result<MachineExit> outcome) {
  std::lock_guard lock(stop_mutex_);
  if (!outcome_) outcome_ = std::move(outcome);
  stopping_ = true;
  stop_cv_.notify_all();
  for (size_t i = 0; i < vcpus_.size(); ++i) {
    vcpus_[i].set_immediate_exit(true);
    if (i < vcpu_threads_.size() && vcpu_threads_[i]) {
      pthread_kill(*vcpu_threads_[i], kick_signal());
    }
  }
}

void Machine::vcpu_loop(size_t index) {
  Vcpu& vcpu = vcpus_[index];
  {
    std::lock_guard lock(stop_mutex_);
    vcpu_threads_[index] = pthread_self();
    if (stopping_) return;
  }
  const bool boot = index == 0;
  while (!stopping_) {
    if (boot && boot_times_.first_entry_ns == 0) boot_times_.first_entry_ns = monotonic_ns();
    Status ran = vcpu.run();
    if (!ran.ok()) {
      // EINTR: kicked (or a stray signal), look at stopping_ and tell the halt watch. EAGAIN: an
      // AP left its wait for INIT/SIPI and is ready to run.
      if (ran.error().code() == EINTR) {
        halted_[index] = halted_for_good(vcpu);
        continue;
      }
      if (ran.error().code() == EAGAIN) continue;
      return stop_all(ran.error());
    }
    halted_[index] = false;
    if (boot && boot_times_.first_exit_ns == 0) boot_times_.first_exit_ns = monotonic_ns();
    ++counters_.exits;
    kvm_run& run = vcpu.run_state();
    switch (run.exit_reason) {
      case KVM_EXIT_IO:
        if (std::optional<MachineExit> end = handle_pio(run)) return stop_all(*end);
        break;
      case KVM_EXIT_MMIO:
        if (std::optional<MachineExit> end = handle_mmio(run)) return stop_all(*end);
        break;
      case KVM_EXIT_SHUTDOWN:
        log_vcpu_state(vcpu, "triple fault");
        return stop_all(MachineExit::shutdown);
      case KVM_EXIT_FAIL_ENTRY:
        return stop_all(
            Error(EIO, "vCPU " + std::to_string(vcpu.id()) + " entry failed, hardware reason " +
                           std::to_string(run.fail_entry.hardware_entry_failure_reason)));
      case KVM_EXIT_INTERNAL_ERROR:
        log_vcpu_state(vcpu, "internal error");
        return stop_all(Error(EIO, "KVM internal error on vCPU " + std::to_string(vcpu.id()) +
                                       ", suberror " + std::to_string(run.internal.suberror)));
      default:
        return stop_all(
            Error(EIO, "unexpected KVM exit reason " + std::to_string(run.exit_reason)));
    }
  }
}

void Machine::serial_input_loop() {
  std::vector<uint8_t> buffer(SerialPort::kRxCapacity);
  while (!stopping_) {
    size_t space;
    {
      std::lock_guard lock(io_mutex_);
      space = serial_.rx_space();
    }
    // While the guest has not read what it has, leave the rest in the fd.
    pollfd p{config_.serial_in_fd, POLLIN, 0};
    if (space == 0 || poll(&p, 1, 100) <= 0) {
      if (space == 0) usleep(10000);
      continue;
    }
    ssize_t n = ::read(config_.serial_in_fd, buffer.data(), space);
    if (n <= 0) return;  // end of input (or an error): the guest just gets nothing more
    std::lock_guard lock(io_mutex_);
    serial_.receive({buffer.data(), static_cast<size_t>(n)});
  }
}

bool Machine::halted_for_good(const Vcpu& vcpu) const {
  Result<uint32_t> state = vcpu.mp_state();
  if (!state.ok()) return false;
  // An AP still waiting for INIT/SIPI counts as stopped: only a running CPU can start it.
  if (*state == KVM_MP_STATE_UNINITIALIZED || *state == KVM_MP_STATE_INIT_RECEIVED) return true;
  if (*state != KVM_MP_STATE_HALTED) return false;
  Result<kvm_regs> regs = vcpu.regs();
  // Only an NMI, INIT or SMI wakes a CPU halted with interrupts off, and nothing here sends one.
  return regs.ok() && (regs->rflags & kRflagsIf) == 0;
}

void Machine::halt_watch_loop() {
  std::unique_lock lock(stop_mutex_);
  while (!stop_cv_.wait_for(lock, kHaltProbePeriod, [this] { return stopping_.load(); })) {
    bool all = true;
    for (size_t i = 0; i < vcpus_.size(); ++i) all = all && halted_[i];
    if (all) {
      lock.unlock();
      stop_all(MachineExit::halt);
      return;
    }
    for (size_t i = 0; i < vcpus_.size(); ++i) {
      if (vcpu_threads_[i]) pthread_kill(*vcpu_threads_[i], kick_signal());
    }
  }
}

Result<MachineExit> Machine::run() {
  install_kick_handler();
  vcpu_threads_.assign(vcpus_.size(), std::nullopt);
  halted_ = std::make_unique<std::atomic<bool>[]>(vcpus_.size());
  std::vector<std::thread> threads;
  for (size_t i = 1; i < vcpus_.size(); ++i) threads.emplace_back([this, i] { vcpu_loop(i); });
  std::thread input;
  if (config_.serial_in_fd >= 0) input = std::thread([this] { serial_input_loop(); });
  std::thread halt_watch([this] { halt_watch_loop(); });
  vcpu_loop(0);
  stop_all(Error(EIO, "boot vCPU stopped"));  // only if nothing recorded why already
  for (std::thread& t : threads) t.join();
  halt_watch.join();
  if (input.joinable()) input.join();
  {
    std::lock_guard lock(stop_mutex_);
    vcpu_threads_.assign(vcpus_.size(), std::nullopt);
  }
  return std::move(*outcome_);
}

}  // namespace ringlane::vmm
