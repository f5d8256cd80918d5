#include "ringlane/net/checksum.h"

#include <cstring>

namespace ringlane::net {

namespace {

uint64_t sum_bytes(const uint8_t* p, uint64_t len, bool odd_start) {
  // Bytes that start at an odd packet offset land in the other half of each 16-bit word; summing
  // them as if even and swapping the result is equivalent (RFC 1071).
  uint64_t sum = 0;
  while (len >= 2) {
    uint16_t w;
    std::memcpy(&w, p, 2);
    sum += w;
    p += 2;
    len -= 2;
  }
  if (len) sum += *p;  // little-endian: a trailing byte is the low half of its word
  if (odd_start) {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    sum = ((sum & 0xff) << 8) | (sum >> 8);
  }
  return sum;
}

}  // namespace

uint32_t ones_complement_sum(const virtio::HostSpan* spans, uint32_t count, uint64_t start,
                             uint64_t end, uint32_t initial) {
  uint64_t sum = initial;
  uint64_t pos = 0;
  for (uint32_t i = 0; i < count && pos < end; ++i) {
    uint64_t s = pos, e = pos + spans[i].len;
    pos = e;
    if (e <= start) continue;
    uint64_t from = s < start ? start : s;
    uint64_t to = e < end ? e : end;
    sum += sum_bytes(spans[i].data + (from - s), to - from, ((from - start) & 1) != 0);
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint32_t>(sum);
}

uint16_t fold_checksum(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

}  // namespace ringlane::net
