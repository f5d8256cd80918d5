// DirtyLog: the bitmap a vhost-user frontend shares for live migration (SET_LOG_BASE with
// VHOST_USER_PROTOCOL_F_LOG_SHMFD). One bit per 4 KiB page of guest physical memory; while
// VHOST_F_LOG_ALL is acked, the device sets the bit of every page it writes (receive buffers,
// used rings, event areas), and the frontend copies those pages again. Workers of one device
// mark it concurrently with each other and with the frontend, which clears bits as it copies:
// every mark is an atomic OR.
#pragma once

#include <cstdint>
#include <memory>

#include "ringlane/base/counter.h"
#include "ringlane/base/result.h"
#include "ringlane/virtio/guest_memory.h"

namespace ringlane::virtio {

class DirtyLog {
 public:
  static constexpr uint64_t kPageShift = 12;  // VHOST_LOG_PAGE: 4 KiB per bit
  // Largest log accepted: 1 GiB of bitmap covers 32 TiB of guest memory.
  static constexpr uint64_t kMaxSize = uint64_t{1} << 30;

  // Maps `size` bytes of bitmap that start `offset` bytes into `fd`. Refuses an empty or
  // oversized log, overflowing arithmetic and a file too short to hold it (an access past its
  // end would raise SIGBUS in a worker).
  static Result<std::unique_ptr<DirtyLog>> map(int fd, uint64_t size, uint64_t offset);
  // Over memory we own (unit tests).
  static std::unique_ptr<DirtyLog> wrap(uint8_t* bits, uint64_t size);
  ~DirtyLog();
  DirtyLog(const DirtyLog&) = delete;
  DirtyLog& operator=(const DirtyLog&) = delete;

  uint64_t size() const { return size_; }
  // Marks every page of [gpa, gpa+len). Returns the pages whose bit was clear before: the
  // pages this call added to the frontend's next copy round. Pages beyond the bitmap (a
  // frontend that sized it too small) cannot be marked and are left out.
  uint64_t mark(uint64_t gpa, uint64_t len) const;
  // The same for bytes the device wrote through a host pointer into `mem` (a span a chain walk
  // gave, a ring): translated back to guest physical addresses, piece by piece across regions.
  uint64_t mark_host(const GuestMemory& mem, const uint8_t* host, uint64_t len) const;
  // The first `bytes` bytes of `spans` (what a receive copy wrote into a chain's buffers).
  uint64_t mark_spans(const GuestMemory& mem, const HostSpan* spans, uint32_t count,
                      uint64_t bytes) const;

 private:
  DirtyLog(uint8_t* bits, uint64_t size, void* map_base, uint64_t map_length)
      : bits_(bits), size_(size), map_base_(map_base), map_length_(map_length) {}

  uint8_t* bits_;
  uint64_t size_;
  void* map_base_;  // null when wrapped
  uint64_t map_length_;
};

}  // namespace ringlane::virtio
