#include "ringlane/vmm/kvm/kvm.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

namespace ringlane::vmm {

kvm_segment flat_segment(uint16_t selector, uint8_t type, bool code64) {
  kvm_segment s{};
  s.base = 0;
  s.limit = 0xffffffff;
  s.selector = selector;
  s.type = type;
  s.present = 1;
  s.dpl = 0;
  s.db = code64 ? 0 : 1;
  s.l = code64 ? 1 : 0;
  s.s = 1;
  s.g = 1;
  return s;
}

namespace {

// ioctl with EINTR retried (a signal can interrupt KVM_RUN and friends).
template <typename Arg>
int kvm_ioctl(int fd, unsigned long request, Arg arg) {
  int r;
  do {
    r = ioctl(fd, request, arg);
  } while (r < 0 && errno == EINTR && request != KVM_RUN);
  return r;
}

// Linux 6.1's <linux/kvm.h> declares kvm_cpuid2's flexible array with __DECLARE_FLEX_ARRAY,
// which in C++ adds an empty struct: sizeof, the entries' offset and so the ioctl numbers come
// out wrong (12 bytes, EINVAL). The kernel's layout, spelled out: 8 bytes, then the entries.
struct CpuidHeader {
  uint32_t nent;
  uint32_t padding;
};
static_assert(sizeof(CpuidHeader) == 8);
constexpr unsigned long kGetSupportedCpuid = _IOWR(KVMIO, 0x05, CpuidHeader);
constexpr unsigned long kSetCpuid2 = _IOW(KVMIO, 0x90, CpuidHeader);
// kvm_irq_routing has the same flexible-array problem.
struct RoutingHeader {
  uint32_t nr;
  uint32_t flags;
};
static_assert(sizeof(RoutingHeader) == 8);
constexpr unsigned long kSetGsiRouting = _IOW(KVMIO, 0x6a, RoutingHeader);

// kvm_msrs has the same flexible-array problem.
struct MsrsHeader {
  uint32_t nmsrs;
  uint32_t pad;
};
static_assert(sizeof(MsrsHeader) == 8);
constexpr unsigned long kSetMsrs = _IOW(KVMIO, 0x89, MsrsHeader);

// A CpuidHeader followed by `n` entries, zeroed.
std::unique_ptr<uint8_t[]> cpuid_buffer(uint32_t n) {
  auto buffer = std::make_unique<uint8_t[]>(sizeof(CpuidHeader) + n * sizeof(kvm_cpuid_entry2));
  CpuidHeader header{n, 0};
  std::memcpy(buffer.get(), &header, sizeof(header));
  return buffer;
}

kvm_cpuid_entry2* cpuid_entries(uint8_t* buffer) {
  return reinterpret_cast<kvm_cpuid_entry2*>(buffer + sizeof(CpuidHeader));
}

// The capabilities the VMM relies on, with the names its errors give them.
constexpr struct {
  int cap;
  const char* name;
} kRequiredCaps[] = {
    {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"}, {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
    {KVM_CAP_PIT2, "KVM_CAP_PIT2"},       {KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD"},
    {KVM_CAP_IRQFD, "KVM_CAP_IRQFD"},     {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
};

}  // namespace

Result<Kvm> Kvm::open() {
  UniqueFd fd(::open("/dev/kvm", O_RDWR | O_CLOEXEC));
  if (!fd) return errno_error("cannot open /dev/kvm (is KVM available, and are we root?)");
  int version = kvm_ioctl(fd.get(), KVM_GET_API_VERSION, 0);
  if (version != KVM_API_VERSION) {
    return Error(ENOTSUP, "/dev/kvm API version " + std::to_string(version) + ", expected " +
                              std::to_string(KVM_API_VERSION));
  }
  for (const auto& required : kRequiredCaps) {
    if (kvm_ioctl(fd.get(), KVM_CHECK_EXTENSION, required.cap) <= 0) {
      return Error(ENOTSUP, std::string("KVM lacks ") + required.name);
    }
  }
  int run_size = kvm_ioctl(fd.get(), KVM_GET_VCPU_MMAP_SIZE, 0);
  if (run_size < static_cast<int>(sizeof(kvm_run))) return errno_error("KVM_GET_VCPU_MMAP_SIZE");
  return Kvm(std::move(fd), static_cast<size_t>(run_size));
}

Result<Vm> Kvm::create_vm() {
  UniqueFd vm(kvm_ioctl(fd_.get(), KVM_CREATE_VM, 0));
  if (!vm) return errno_error("KVM_CREATE_VM");
  return Vm(std::move(vm), run_size_);
}

Result<std::vector<kvm_cpuid_entry2>> Kvm::supported_cpuid() const {
  constexpr uint32_t kMaxEntries = 256;
  std::unique_ptr<uint8_t[]> buffer = cpuid_buffer(kMaxEntries);
  if (kvm_ioctl(fd_.get(), kGetSupportedCpuid, buffer.get()) < 0) {
    return errno_error("KVM_GET_SUPPORTED_CPUID");
  }
  CpuidHeader header;
  std::memcpy(&header, buffer.get(), sizeof(header));
  kvm_cpuid_entry2* entries = cpuid_entries(buffer.get());
  return std::vector<kvm_cpuid_entry2>(entries, entries + std::min(header.nent, kMaxEntries));
}

int Kvm::capability(int cap) const {
  return std::max(kvm_ioctl(fd_.get(), KVM_CHECK_EXTENSION, cap), 0);
}

Status Vm::set_memory(uint32_t slot, uint64_t gpa, uint64_t size, void* host) {
  kvm_userspace_memory_region region{};
  region.slot = slot;
  region.guest_phys_addr = gpa;
  region.memory_size = size;
  region.userspace_addr = reinterpret_cast<uint64_t>(host);
  if (kvm_ioctl(fd_.get(), KVM_SET_USER_MEMORY_REGION, &region) < 0) {
    return errno_error("KVM_SET_USER_MEMORY_REGION (slot " + std::to_string(slot) + ")");
  }
  return {};
}

Status Vm::set_tss_address(uint64_t gpa) {
  if (kvm_ioctl(fd_.get(), KVM_SET_TSS_ADDR, static_cast<unsigned long>(gpa)) < 0) {
    return errno_error("KVM_SET_TSS_ADDR");
  }
  return {};
}

Status Vm::create_irqchip() {
  if (kvm_ioctl(fd_.get(), KVM_CREATE_IRQCHIP, 0) < 0) return errno_error("KVM_CREATE_IRQCHIP");
  return {};
}

Status Vm::create_pit() {
  kvm_pit_config config{};
  config.flags = KVM_PIT_SPEAKER_DUMMY;
  if (kvm_ioctl(fd_.get(), KVM_CREATE_PIT2, &config) < 0) return errno_error("KVM_CREATE_PIT2");
  return {};
}

Status Vm::set_ioeventfd(uint64_t gpa, uint32_t len, int fd, bool assign) {
  kvm_ioeventfd e{};
  e.addr = gpa;
  e.len = len;
  e.fd = fd;
  e.flags = assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN;
  if (kvm_ioctl(fd_.get(), KVM_IOEVENTFD, &e) < 0) return errno_error("KVM_IOEVENTFD");
  return {};
}

Status Vm::set_irqfd(int fd, uint32_t gsi, bool assign) {
  kvm_irqfd e{};
  e.fd = static_cast<uint32_t>(fd);
  e.gsi = gsi;
  e.flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN;
  if (kvm_ioctl(fd_.get(), KVM_IRQFD, &e) < 0) {
    return errno_error("KVM_IRQFD (gsi " + std::to_string(gsi) + ")");
  }
  return {};
}

Status Vm::set_gsi_routing(const std::vector<kvm_irq_routing_entry>& entries) {
  std::vector<uint8_t> buffer(sizeof(RoutingHeader) +
                              entries.size() * sizeof(kvm_irq_routing_entry));
  RoutingHeader header{static_cast<uint32_t>(entries.size()), 0};
  std::memcpy(buffer.data(), &header, sizeof(header));
  std::memcpy(buffer.data() + sizeof(header), entries.data(),
              entries.size() * sizeof(kvm_irq_routing_entry));
  if (kvm_ioctl(fd_.get(), kSetGsiRouting, buffer.data()) < 0) {
    return errno_error("KVM_SET_GSI_ROUTING");
  }
  return {};
}

Status Vm::set_irq_line(uint32_t gsi, bool high) {
  kvm_irq_level level{};
  level.irq = gsi;
  level.level = high ? 1 : 0;
  if (kvm_ioctl(fd_.get(), KVM_IRQ_LINE, &level) < 0) return errno_error("KVM_IRQ_LINE");
  return {};
}

Result<uint32_t> Vm::tsc_khz() const {
  int khz = kvm_ioctl(fd_.get(), KVM_GET_TSC_KHZ, 0);
  if (khz <= 0) return errno_error("KVM_GET_TSC_KHZ");
  return static_cast<uint32_t>(khz);
}

Result<Vcpu> Vm::create_vcpu(int id) {
  UniqueFd fd(kvm_ioctl(fd_.get(), KVM_CREATE_VCPU, id));
  if (!fd) return errno_error("KVM_CREATE_VCPU " + std::to_string(id));
  void* run = mmap(nullptr, run_size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (run == MAP_FAILED) return errno_error("mmap of vCPU " + std::to_string(id) + " run area");
  return Vcpu(id, std::move(fd), static_cast<kvm_run*>(run), run_size_);
}

Vcpu::Vcpu(Vcpu&& other) noexcept
    : id_(other.id_),
      fd_(std::move(other.fd_)),
      run_(std::exchange(other.run_, nullptr)),
      run_size_(other.run_size_) {}

Vcpu::~Vcpu() {
  if (run_ != nullptr) munmap(run_, run_size_);
}

Status Vcpu::run() {
  if (kvm_ioctl(fd_.get(), KVM_RUN, 0) < 0) return errno_error("KVM_RUN");
  return {};
}

Result<kvm_regs> Vcpu::regs() const {
  kvm_regs r{};
  if (kvm_ioctl(fd_.get(), KVM_GET_REGS, &r) < 0) return errno_error("KVM_GET_REGS");
  return r;
}

Status Vcpu::set_regs(const kvm_regs& regs) {
  if (kvm_ioctl(fd_.get(), KVM_SET_REGS, &regs) < 0) return errno_error("KVM_SET_REGS");
  return {};
}

Result<kvm_sregs> Vcpu::sregs() const {
  kvm_sregs s{};
  if (kvm_ioctl(fd_.get(), KVM_GET_SREGS, &s) < 0) return errno_error("KVM_GET_SREGS");
  return s;
}

Status Vcpu::set_sregs(const kvm_sregs& sregs) {
  if (kvm_ioctl(fd_.get(), KVM_SET_SREGS, &sregs) < 0) return errno_error("KVM_SET_SREGS");
  return {};
}

Status Vcpu::set_cpuid(const std::vector<kvm_cpuid_entry2>& entries) {
  std::unique_ptr<uint8_t[]> buffer = cpuid_buffer(static_cast<uint32_t>(entries.size()));
  std::copy(entries.begin(), entries.end(), cpuid_entries(buffer.get()));
  if (kvm_ioctl(fd_.get(), kSetCpuid2, buffer.get()) < 0) return errno_error("KVM_SET_CPUID2");
  return {};
}

Status Vcpu::set_msrs(const std::vector<std::pair<uint32_t, uint64_t>>& msrs) {
  std::vector<uint8_t> buffer(sizeof(MsrsHeader) + msrs.size() * sizeof(kvm_msr_entry));
  MsrsHeader header{static_cast<uint32_t>(msrs.size()), 0};
  std::memcpy(buffer.data(), &header, sizeof(header));
  for (size_t i = 0; i < msrs.size(); ++i) {
    kvm_msr_entry e{};
    e.index = msrs[i].first;
    e.data = msrs[i].second;
    std::memcpy(buffer.data() + sizeof(header) + i * sizeof(e), &e, sizeof(e));
  }
  // KVM_SET_MSRS returns how many it set: stopping short names the MSR it refused.
  int set = kvm_ioctl(fd_.get(), kSetMsrs, buffer.data());
  if (set < 0) return errno_error("KVM_SET_MSRS");
  if (static_cast<size_t>(set) < msrs.size()) {
    char name[16];
    std::snprintf(name, sizeof(name), "%#x", msrs[set].first);
    return Error(EINVAL, std::string("KVM_SET_MSRS refused MSR ") + name);
  }
  return {};
}

Status Vcpu::set_fpu(const kvm_fpu& fpu) {
  if (kvm_ioctl(fd_.get(), KVM_SET_FPU, &fpu) < 0) return errno_error("KVM_SET_FPU");
  return {};
}

Result<kvm_lapic_state> Vcpu::lapic() const {
  kvm_lapic_state s{};
  if (kvm_ioctl(fd_.get(), KVM_GET_LAPIC, &s) < 0) return errno_error("KVM_GET_LAPIC");
  return s;
}

Result<uint32_t> Vcpu::mp_state() const {
  kvm_mp_state s{};
  if (kvm_ioctl(fd_.get(), KVM_GET_MP_STATE, &s) < 0) return errno_error("KVM_GET_MP_STATE");
  return s.mp_state;
}

Status Vcpu::set_lapic(const kvm_lapic_state& lapic) {
  if (kvm_ioctl(fd_.get(), KVM_SET_LAPIC, &lapic) < 0) return errno_error("KVM_SET_LAPIC");
  return {};
}

}  // namespace ringlane::vmm
