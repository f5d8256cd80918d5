// MacTable: the L2 switch's learned addresses, per VLAN, shared by all workers without locks. Each
// entry packs MAC and port into one 64-bit word so a reader never sees half an update; the VLAN
// rides in the low 12 bits of the last-seen time (aging loses nothing at 4096 cycles); entries
// age out. A race between a reader and a writer replacing an entry can at worst give the port of
// another VLAN's station, which the switch's egress check (net::PortVlans::carries) refuses.
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

  // Records that `mac` (48 bits) was seen on `port` in VLAN `vlan` (0-4095) at time `now`.
  void learn(uint64_t mac, uint16_t port, uint64_t now, uint16_t vlan = 0);
  // The port `mac` was last seen on in `vlan`, or kNoPort when unknown or aged out.
  uint16_t lookup(uint64_t mac, uint64_t now, uint16_t vlan = 0) const;
  // Calls fn(mac, vlan, port, age) for every live entry, age in ticks since it was last seen
  // (the control thread, e.g. to tell uplinks which addresses are behind the switch).
  template <typename Fn>
  void for_each(uint64_t now, Fn&& fn) const {
    for (uint32_t i = 0; i <= mask_; ++i) {
      for (const Entry& e : buckets_[i].entries) {
        uint64_t k = e.key.load(std::memory_order_acquire);
        uint64_t seen = e.seen.load(std::memory_order_relaxed);
        if (k != 0 && age(now, seen) <= aging_ticks_) {
          fn(k >> 16, vlan_of(seen), static_cast<uint16_t>(k & 0xffff), age(now, seen));
        }
      }
    }
  }
  // Forgets every entry on `port` (the port went away, or an operator flushed it); returns how
  // many there were.
  size_t flush_port(uint16_t port);
  // Forgets every entry; returns how many there were.
  size_t flush();
  uint64_t aging_ticks() const { return aging_ticks_; }
  size_t size(uint64_t now) const;

 private:
  struct Entry {
    std::atomic<uint64_t> key{0};  // mac << 16 | port, 0 = empty
    std::atomic<uint64_t> seen{0};
  };
  struct alignas(64) Bucket {
    Entry entries[4];
  };
  static constexpr unsigned kVlanShift = 52;
  static constexpr uint64_t kTimeMask = (uint64_t{1} << kVlanShift) - 1;
  static uint64_t stamp(uint64_t now, uint16_t vlan) {
    return uint64_t{vlan & 0xfffu} << kVlanShift | (now & kTimeMask);
  }
  static uint16_t vlan_of(uint64_t seen) { return static_cast<uint16_t>(seen >> kVlanShift); }
  static uint64_t age(uint64_t now, uint64_t seen) { return (now - seen) & kTimeMask; }
  Bucket& bucket_for(uint64_t mac, uint16_t vlan) const;

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
