// GuestMemory: the frontend's memory table mapped into this process, and the only way the data
// path turns a guest physical address into a pointer. Every translation is range-checked.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "ringlane/base/result.h"
#include "ringlane/base/unique_fd.h"

namespace ringlane::virtio {

// One region as the frontend describes it (VhostUserMemoryRegion).
struct RegionDescriptor {
  uint64_t guest_phys_addr;
  uint64_t size;
  uint64_t user_addr;    // the frontend's own virtual address of the region
  uint64_t mmap_offset;  // offset of the region in the fd
};

// A region mapped into our address space; unmapped when the last GuestMemory using it goes.
class MappedRegion {
 public:
  // Maps `size` bytes at `mmap_offset` of `fd`; refuses regions beyond the end of the file (an
  // access there would raise SIGBUS) and overflowing arithmetic.
  static Result<std::shared_ptr<const MappedRegion>> map(const RegionDescriptor& desc, int fd);
  // Wraps memory we own (tests, benchmarks); nothing is unmapped.
  static std::shared_ptr<const MappedRegion> wrap(const RegionDescriptor& desc, uint8_t* host);
  ~MappedRegion();
  MappedRegion(const MappedRegion&) = delete;
  MappedRegion& operator=(const MappedRegion&) = delete;

  const RegionDescriptor& descriptor() const { return desc_; }
  uint8_t* host() const { return host_; }

 private:
  MappedRegion(const RegionDescriptor& desc, uint8_t* host, void* base, size_t length)
      : desc_(desc), host_(host), map_base_(base), map_length_(length) {}
  RegionDescriptor desc_;
  uint8_t* host_;
  void* map_base_;
  size_t map_length_;
};

struct HostSpan {
  uint8_t* data;
  uint64_t len;
};

// An immutable set of non-overlapping regions, sorted for O(log n) lookup.
class GuestMemory {
 public:
  static constexpr uint32_t kMaxRegions = 509;

  GuestMemory() = default;
  // Fails on overlapping guest ranges or more than kMaxRegions regions.
  static Result<GuestMemory> create(std::vector<std::shared_ptr<const MappedRegion>> regions);

  size_t region_count() const { return regions_.size(); }
  const std::vector<std::shared_ptr<const MappedRegion>>& regions() const { return owners_; }

  // Pointer to [gpa, gpa+len) if the whole range lies inside one region, else nullptr.
  uint8_t* translate(uint64_t gpa, uint64_t len) const {
    const Entry* e = find(gpa);
    if (e == nullptr) return nullptr;
    uint64_t offset = gpa - e->start;
    if (len > e->size - offset) return nullptr;
    return e->host + offset;
  }

  // Splits [gpa, gpa+len) into host spans across adjacent regions. Returns the number of spans
  // written, 0 if any byte is unmapped, the length overflows, or `out` is too small.
  size_t translate_spans(uint64_t gpa, uint64_t len, std::span<HostSpan> out) const;

  // True when every byte of [gpa, gpa+len) is mapped (possibly across several regions).
  bool contains(uint64_t gpa, uint64_t len) const;

  // Translates a frontend virtual address (ring addresses in SET_VRING_ADDR).
  uint8_t* translate_user_addr(uint64_t uva, uint64_t len) const;
  // The way back, for the dirty log: the guest physical address of the mapped byte at `host`,
  // and how many bytes from there on the same region maps. None when no region maps it.
  struct GuestRun {
    uint64_t gpa;
    uint64_t len;
  };
  std::optional<GuestRun> guest_address(const uint8_t* host) const;

 private:
  struct Entry {
    uint64_t start;
    uint64_t size;
    uint8_t* host;
  };
  const Entry* find(uint64_t gpa) const {
    // Few regions is the common case: a linear scan beats a binary search there.
    if (entries_.size() <= 4) {
      for (const Entry& e : entries_) {
        if (gpa - e.start < e.size) return &e;
      }
      return nullptr;
    }
    return find_sorted(gpa);
  }
  const Entry* find_sorted(uint64_t gpa) const;

  std::vector<Entry> entries_;  // sorted by start
  std::vector<std::shared_ptr<const MappedRegion>> owners_;
  std::vector<std::shared_ptr<const MappedRegion>> regions_;  // sorted by user_addr
};

}  // namespace ringlane::virtio
