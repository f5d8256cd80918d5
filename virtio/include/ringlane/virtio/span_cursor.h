// SpanCursor: sequential reads and writes over a list of host spans (a scattered buffer).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "ringlane/virtio/guest_memory.h"

namespace ringlane::virtio {

class SpanCursor {
 public:
  SpanCursor(const HostSpan* spans, uint32_t count) : spans_(spans), count_(count) {}

  // Copies up to `len` bytes out; returns the number copied.
  uint64_t read(void* dst, uint64_t len) {
    auto* out = static_cast<uint8_t*>(dst);
    uint64_t done = 0;
    while (done < len && index_ < count_) {
      uint64_t chunk = std::min(len - done, spans_[index_].len - offset_);
      std::memcpy(out + done, spans_[index_].data + offset_, chunk);
      done += chunk;
      advance(chunk);
    }
    return done;
  }
  // Copies up to `len` bytes in; returns the number copied. Source and destination may both be
  // guest memory (one VM behind two ports), which the guest can make overlap.
  uint64_t write(const void* src, uint64_t len) {
    const auto* in = static_cast<const uint8_t*>(src);
    uint64_t done = 0;
    while (done < len && index_ < count_) {
      uint64_t chunk = std::min(len - done, spans_[index_].len - offset_);
      std::memmove(spans_[index_].data + offset_, in + done, chunk);
      done += chunk;
      advance(chunk);
    }
    return done;
  }
  void skip(uint64_t len) {
    while (len > 0 && index_ < count_) {
      uint64_t chunk = std::min(len, spans_[index_].len - offset_);
      len -= chunk;
      advance(chunk);
    }
  }
  uint32_t index() const { return index_; }
  uint64_t offset() const { return offset_; }

 private:
  void advance(uint64_t n) {
    offset_ += n;
    if (offset_ == spans_[index_].len) {
      ++index_;
      offset_ = 0;
    }
  }
  const HostSpan* spans_;
  uint32_t count_;
  uint32_t index_ = 0;
  uint64_t offset_ = 0;
};

}  // namespace ringlane::virtio
