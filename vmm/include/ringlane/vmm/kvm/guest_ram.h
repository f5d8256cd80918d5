// GuestRam: the guest's memory, one memfd mapped shared from guest physical 0, so that a
// vhost-user backend can map the same pages; optionally of 2 MiB hugepages (fewer TLB misses for
// the guest and for the backend walking its rings). Every access from the VMM is range-checked.
#pragma once

#include <cstdint>
#include <span>

#include "ringlane/base/result.h"
#include "ringlane/base/unique_fd.h"

namespace ringlane::vmm {

class GuestRam {
 public:
  static constexpr uint64_t kHugePage = 2ULL << 20;
  // `hugepages`: from the hugetlb pool (size a multiple of 2 MiB; fails when the pool is short).
  static Result<GuestRam> create(uint64_t size, bool hugepages = false);
  GuestRam(GuestRam&& other) noexcept;
  GuestRam& operator=(GuestRam&&) = delete;
  GuestRam(const GuestRam&) = delete;
  ~GuestRam();

  uint64_t size() const { return size_; }
  int fd() const { return fd_.get(); }
  uint8_t* base() const { return base_; }
  // [gpa, gpa + len) as host bytes, or an empty span when any of it lies outside guest RAM.
  std::span<uint8_t> bytes(uint64_t gpa, uint64_t len) const;

 private:
  GuestRam(UniqueFd fd, uint8_t* base, uint64_t size)
      : fd_(std::move(fd)), base_(base), size_(size) {}
  UniqueFd fd_;
  uint8_t* base_;
  uint64_t size_;
};

}  // namespace ringlane::vmm
