#include "ringlane/vmm/kvm/guest_ram.h"

#include <linux/memfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <string>
#include <utility>

namespace ringlane::vmm {

Result<GuestRam> GuestRam::create(uint64_t size, bool hugepages) {
  uint64_t page = hugepages ? kHugePage : 4096;
  if (size == 0 || size % page != 0) {
    return Error(EINVAL, "guest memory size " + std::to_string(size) + " is not a multiple of " +
                             (hugepages ? "2 MiB" : "4 KiB"));
  }
  unsigned flags = MFD_CLOEXEC | (hugepages ? MFD_HUGETLB | MFD_HUGE_2MB : 0U);
  UniqueFd fd(memfd_create("ringlane-vmm-ram", flags));
  if (!fd)
    return errno_error(hugepages ? "memfd_create of hugetlb guest memory"
                                 : "memfd_create for guest memory");
  if (ftruncate(fd.get(), static_cast<off_t>(size)) < 0) {
    return errno_error("sizing guest memory to " + std::to_string(size) + " bytes");
  }
  // Hugepages are reserved at mmap time (no MAP_NORESERVE): a short pool fails here, with a
  // clear error, rather than with SIGBUS when the guest first touches the page.
  int mflags = MAP_SHARED | (hugepages ? 0 : MAP_NORESERVE);
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, mflags, fd.get(), 0);
  if (p == MAP_FAILED) {
    return errno_error(hugepages ? "mapping " + std::to_string(size >> 20) +
                                       " MiB of hugepages for guest memory (is the 2 MiB pool "
                                       "big enough? /proc/sys/vm/nr_hugepages)"
                                 : std::string("mapping guest memory"));
  }
  return GuestRam(std::move(fd), static_cast<uint8_t*>(p), size);
}

GuestRam::GuestRam(GuestRam&& other) noexcept
    : fd_(std::move(other.fd_)),
      base_(std::exchange(other.base_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

GuestRam::~GuestRam() {
  if (base_ != nullptr) munmap(base_, size_);
}

std::span<uint8_t> GuestRam::bytes(uint64_t gpa, uint64_t len) const {
  if (gpa > size_ || len > size_ - gpa) return {};
  return {base_ + gpa, len};
}

}  // namespace ringlane::vmm
