// BpfRingReader: the user-space end of a BPF ring buffer (BPF_MAP_TYPE_RINGBUF), read in place
// through its mappings, with no system call: records are handed out where the kernel wrote them
// and stay valid until release(), which gives back everything handed out so far. One reader
// (one thread) at a time. Used for the multicast and broadcast copies the XDP program makes.
#pragma once

#include <linux/bpf.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "ringlane/base/result.h"

namespace ringlane::uplink {

class BpfRingReader {
 public:
  // Maps the ring buffer map `map_fd` (which it does not own).
  static Result<BpfRingReader> map(int map_fd);
  BpfRingReader(BpfRingReader&& other) noexcept;
  BpfRingReader& operator=(BpfRingReader&&) = delete;
  BpfRingReader(const BpfRingReader&) = delete;
  ~BpfRingReader();

  // The next committed record's payload and its length, or nullptr when there is none yet.
  // Discarded records are skipped.
  const uint8_t* next(uint32_t& len) {
    for (;;) {
      uint64_t produced = __atomic_load_n(producer_pos_, __ATOMIC_ACQUIRE);
      if (read_pos_ >= produced) return nullptr;
      const uint8_t* hdr = data_ + (read_pos_ & mask_);
      uint32_t word = __atomic_load_n(reinterpret_cast<const uint32_t*>(hdr), __ATOMIC_ACQUIRE);
      if ((word & BPF_RINGBUF_BUSY_BIT) != 0) return nullptr;  // reserved, not yet committed
      uint32_t size = word & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
      read_pos_ += (uint64_t{size} + BPF_RINGBUF_HDR_SZ + 7) & ~uint64_t{7};
      if ((word & BPF_RINGBUF_DISCARD_BIT) != 0) continue;
      len = size;
      return hdr + BPF_RINGBUF_HDR_SZ;
    }
  }
  // Whether records were handed out since the last release().
  bool holding() const { return read_pos_ != __atomic_load_n(consumer_pos_, __ATOMIC_RELAXED); }
  // The kernel may reuse the space of every record handed out.
  void release() { __atomic_store_n(consumer_pos_, read_pos_, __ATOMIC_RELEASE); }

 private:
  BpfRingReader() = default;

  uint64_t* consumer_pos_ = nullptr;        // our page, written
  const uint64_t* producer_pos_ = nullptr;  // the kernel's page, read
  const uint8_t* data_ = nullptr;           // mapped twice, so a record is never split
  uint64_t mask_ = 0;
  uint64_t read_pos_ = 0;
  size_t page_ = 0;
  size_t data_bytes_ = 0;
};

}  // namespace ringlane::uplink
