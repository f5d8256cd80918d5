#include "ringlane/virtio/guest_memory.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <algorithm>

#include "add_overflows.h"

namespace ringlane::virtio {

Result<std::shared_ptr<const MappedRegion>> MappedRegion::map(const RegionDescriptor& desc,
                                                              int fd) {
  if (desc.size == 0) return Error(EINVAL, "memory region of size 0");
  if (add_overflows(desc.guest_phys_addr, desc.size) || add_overflows(desc.user_addr, desc.size) ||
      add_overflows(desc.mmap_offset, desc.size)) {
    return Error(EINVAL, "memory region overflows the address space");
  }
  struct stat st {};
  if (::fstat(fd, &st) < 0) return errno_error("fstat memory region fd");
  uint64_t end = desc.mmap_offset + desc.size;
  if (!S_ISREG(st.st_mode) || static_cast<uint64_t>(st.st_size) < end) {
    return Error(EINVAL, "memory region extends beyond its file (" + std::to_string(end) + " > " +
                             std::to_string(st.st_size) + ")");
  }
  // hugetlbfs requires lengths in whole huge pages; st_blksize is the page size there.
  uint64_t page = st.st_blksize > 0 ? static_cast<uint64_t>(st.st_blksize) : 4096;
  uint64_t length = (end + page - 1) / page * page;
  if (length > static_cast<uint64_t>(st.st_size)) length = end;
  void* base = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
  if (base == MAP_FAILED) return errno_error("mmap memory region");
  auto* host = static_cast<uint8_t*>(base) + desc.mmap_offset;
  return std::shared_ptr<const MappedRegion>(new MappedRegion(desc, host, base, length));
}

std::shared_ptr<const MappedRegion> MappedRegion::wrap(const RegionDescriptor& desc,
                                                       uint8_t* host) {
  return std::shared_ptr<const MappedRegion>(new MappedRegion(desc, host, nullptr, 0));
}

MappedRegion::~MappedRegion() {
  if (map_base_ != nullptr) ::munmap(map_base_, map_length_);
}

Result<GuestMemory> GuestMemory::create(std::vector<std::shared_ptr<const MappedRegion>> regions) {
  if (regions.size() > kMaxRegions) return Error(E2BIG, "too many memory regions");
  GuestMemory mem;
  mem.owners_ = regions;
  for (const auto& r : regions) {
    const auto& d = r->descriptor();
    mem.entries_.push_back(Entry{d.guest_phys_addr, d.size, r->host()});
  }
  std::sort(mem.entries_.begin(), mem.entries_.end(),
            [](const Entry& a, const Entry& b) { return a.start < b.start; });
  for (size_t i = 1; i < mem.entries_.size(); ++i) {
    const Entry& prev = mem.entries_[i - 1];
    if (prev.start + prev.size > mem.entries_[i].start) {
      return Error(EINVAL, "memory regions overlap in guest physical space");
    }
  }
  mem.regions_ = std::move(regions);
  std::sort(mem.regions_.begin(), mem.regions_.end(), [](const auto& a, const auto& b) {
    return a->descriptor().user_addr < b->descriptor().user_addr;
  });
  return mem;
}

const GuestMemory::Entry* GuestMemory::find_sorted(uint64_t gpa) const {
  auto it = std::upper_bound(entries_.begin(), entries_.end(), gpa,
                             [](uint64_t a, const Entry& e) { return a < e.start; });
  if (it == entries_.begin()) return nullptr;
  --it;
  return gpa - it->start < it->size ? &*it : nullptr;
}

size_t GuestMemory::translate_spans(uint64_t gpa, uint64_t len, std::span<HostSpan> out) const {
  if (add_overflows(gpa, len)) return 0;
  size_t n = 0;
  while (len > 0) {
    const Entry* e = find(gpa);
    if (e == nullptr || n == out.size()) return 0;
    uint64_t offset = gpa - e->start;
    uint64_t chunk = std::min(len, e->size - offset);
    out[n++] = HostSpan{e->host + offset, chunk};
    gpa += chunk;
    len -= chunk;
  }
  return n;
}

bool GuestMemory::contains(uint64_t gpa, uint64_t len) const {
  if (add_overflows(gpa, len)) return false;
  while (len > 0) {
    const Entry* e = find(gpa);
    if (e == nullptr) return false;
    uint64_t chunk = std::min(len, e->size - (gpa - e->start));
    gpa += chunk;
    len -= chunk;
  }
  return true;
}

uint8_t* GuestMemory::translate_user_addr(uint64_t uva, uint64_t len) const {
  auto it = std::upper_bound(regions_.begin(), regions_.end(), uva, [](uint64_t a, const auto& r) {
    return a < r->descriptor().user_addr;
  });
  if (it == regions_.begin()) return nullptr;
  --it;
  const RegionDescriptor& d = (*it)->descriptor();
  uint64_t offset = uva - d.user_addr;
  if (offset >= d.size || len > d.size - offset) return nullptr;
  return (*it)->host() + offset;
}

std::optional<GuestMemory::GuestRun> GuestMemory::guest_address(const uint8_t* host) const {
  // Only while a migration logs: a scan of the few regions is enough.
  for (const Entry& e : entries_) {
    if (host >= e.host && static_cast<uint64_t>(host - e.host) < e.size) {
      auto offset = static_cast<uint64_t>(host - e.host);
      return GuestRun{e.start + offset, e.size - offset};
    }
  }
  return std::nullopt;
}

}  // namespace ringlane::virtio
