#include "ringlane/vmm/guest_ram.h"

#include <sys/mman.h>
#include <unistd.h>

#include <string>
#include <utility>

namespace ringlane::vmm {

Result<GuestRam> GuestRam::create(uint64_t size) {
  constexpr uint64_t kPage = 4096;
  if (size == 0 || size % kPage != 0) {
    return Error(EINVAL,
                 "guest memory size " + std::to_string(size) + " is not a multiple of 4 KiB");
  }
  UniqueFd fd(memfd_create("ringlane-vmm-ram", MFD_CLOEXEC));
  if (!fd) return errno_error("memfd_create for guest memory");
  if (ftruncate(fd.get(), static_cast<off_t>(size)) < 0) {
    return errno_error("sizing guest memory to " + std::to_string(size) + " bytes");
  }
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd.get(), 0);
  if (p == MAP_FAILED) return errno_error("mapping guest memory");
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
