// MacTable: the L2 switch's learned addresses, shared by all workers without locks. Each entry
// packs MAC and port into one 64-bit word so a reader never sees half an update; entries age out.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace ringlane::dataplane {

class MacTable {
 public:
  static constexpr uint16_t kNoPort = 0xffff;

  // `buckets` is rounded up to a power of two; each bucket holds 4 entries (one cache line).
  MacTable(uint32_t buckets, uint64_t aging_ticks);

  // Records that `mac` (48 bits) was seen on `port` at time `now`.
  void learn(uint64_t mac, uint16_t port, uint64_t now);
  // The port `mac` was last seen on, or kNoPort when unknown or aged out.
  uint16_t lookup(uint64_t mac, uint64_t now) const;
  // Forgets every entry on `port` (the port went away).
  void flush_port(uint16_t port);
  size_t size(uint64_t now) const;

 private:
  struct Entry {
    std::atomic<uint64_t> key{0};  // mac << 16 | port, 0 = empty
    std::atomic<uint64_t> seen{0};
  };
  struct alignas(64) Bucket {
    Entry entries[4];
  };
  Bucket& bucket_for(uint64_t mac) const;

  std::unique_ptr<Bucket[]> buckets_;
  uint32_t mask_;
  uint64_t aging_ticks_;
};

// The 48-bit address at `p` as an integer (network byte order preserved in value order).
inline uint64_t read_mac(const uint8_t* p) {
  return uint64_t{p[0]} << 40 | uint64_t{p[1]} << 32 | uint64_t{p[2]} << 24 | uint64_t{p[3]} << 16 |
         uint64_t{p[4]} << 8 | uint64_t{p[5]};
}
inline bool is_multicast(uint64_t mac) {
  return (mac >> 40) & 1;
}

}  // namespace ringlane::dataplane
