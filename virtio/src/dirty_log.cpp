#include "ringlane/virtio/dirty_log.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <algorithm>
#include <string>

#include "add_overflows.h"

namespace ringlane::virtio {

Result<std::unique_ptr<DirtyLog>> DirtyLog::map(int fd, uint64_t size, uint64_t offset) {
  if (size == 0 || size > kMaxSize) {
    return Error(EINVAL, "dirty log of " + std::to_string(size) + " bytes (1 to " +
                             std::to_string(kMaxSize) + " accepted)");
  }
  if (add_overflows(offset, size)) return Error(EINVAL, "dirty log offset overflows");
  struct stat st {};
  if (::fstat(fd, &st) < 0) return errno_error("fstat dirty log fd");
  uint64_t end = offset + size;
  if (!S_ISREG(st.st_mode) || static_cast<uint64_t>(st.st_size) < end) {
    return Error(EINVAL, "dirty log extends beyond its file (" + std::to_string(end) + " > " +
                             std::to_string(st.st_size) + ")");
  }
  // Mapped from the file's start: an offset need not be page aligned (the same reason as
  // MappedRegion::map).
  void* base = ::mmap(nullptr, end, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) return errno_error("mmap dirty log");
  return std::unique_ptr<DirtyLog>(
      new DirtyLog(static_cast<uint8_t*>(base) + offset, size, base, end));
}

std::unique_ptr<DirtyLog> DirtyLog::wrap(uint8_t* bits, uint64_t size) {
  return std::unique_ptr<DirtyLog>(new DirtyLog(bits, size, nullptr, 0));
}

DirtyLog::~DirtyLog() {
  if (map_base_ != nullptr) ::munmap(map_base_, map_length_);
}

uint64_t DirtyLog::mark(uint64_t gpa, uint64_t len) const {
  if (len == 0) return 0;
  uint64_t first = gpa >> kPageShift;
  // The last byte's page; an overflowing range ends at the top of the address space.
  uint64_t last = (add_overflows(gpa, len - 1) ? ~uint64_t{0} : gpa + len - 1) >> kPageShift;
  last = std::min(last, size_ * 8 - 1);
  uint64_t added = 0;
  for (uint64_t page = first; page <= last; ++page) {
    auto bit = static_cast<uint8_t>(1u << (page & 7));
    uint8_t* byte = bits_ + (page >> 3);
    // Always the locked OR, even for a bit that looks set: the frontend clears bits and then
    // copies their pages, so the page's bytes must be out of the store buffer before the bit
    // is read (a plain load could pass our own stores to the page, and the frontend could
    // clear the bit and copy the page without them).
    if (!(__atomic_fetch_or(byte, bit, __ATOMIC_SEQ_CST) & bit)) ++added;
  }
  return added;
}

uint64_t DirtyLog::mark_host(const GuestMemory& mem, const uint8_t* host, uint64_t len) const {
  uint64_t added = 0;
  while (len > 0) {
    auto run = mem.guest_address(host);
    // Every pointer the device writes through came from this table.
    if (!run) return added;
    uint64_t chunk = std::min(len, run->len);
    added += mark(run->gpa, chunk);
    host += chunk;
    len -= chunk;
  }
  return added;
}

uint64_t DirtyLog::mark_spans(const GuestMemory& mem, const HostSpan* spans, uint32_t count,
                              uint64_t bytes) const {
  uint64_t added = 0;
  for (uint32_t i = 0; i < count && bytes > 0; ++i) {
    uint64_t chunk = std::min(bytes, spans[i].len);
    added += mark_host(mem, spans[i].data, chunk);
    bytes -= chunk;
  }
  return added;
}

}  // namespace ringlane::virtio
