#include "ringlane/dataplane/mac_table.h"

#include <bit>

namespace ringlane::dataplane {

namespace {

uint64_t hash_mac(uint64_t mac) {
  mac ^= mac >> 29;
  mac *= 0xbf58476d1ce4e5b9ull;
  return mac ^ (mac >> 32);
}

}  // namespace

MacTable::MacTable(uint32_t buckets, uint64_t aging_ticks)
    : buckets_(new Bucket[std::bit_ceil(buckets < 1 ? 1u : buckets)]),
      mask_(std::bit_ceil(buckets < 1 ? 1u : buckets) - 1),
      aging_ticks_(aging_ticks) {}

MacTable::Bucket& MacTable::bucket_for(uint64_t mac, uint16_t vlan) const {
  return buckets_[hash_mac(mac ^ uint64_t{vlan} << 48) & mask_];
}

void MacTable::learn(uint64_t mac, uint16_t port, uint64_t now, uint16_t vlan) {
  uint64_t key = mac << 16 | port;
  Bucket& b = bucket_for(mac, vlan);
  Entry* victim = nullptr;
  uint64_t oldest = 0;
  for (Entry& e : b.entries) {
    uint64_t k = e.key.load(std::memory_order_relaxed);
    uint64_t seen = e.seen.load(std::memory_order_relaxed);
    if (k >> 16 == mac && k != 0 && vlan_of(seen) == vlan) {
      if (k != key) e.key.store(key, std::memory_order_relaxed);  // the station moved
      // Refresh rarely: a store per packet would bounce the line between workers.
      if (age(now, seen) > aging_ticks_ / 16) {
        e.seen.store(stamp(now, vlan), std::memory_order_relaxed);
      }
      return;
    }
    uint64_t a = k == 0 ? UINT64_MAX : age(now, seen);
    if (victim == nullptr || a > oldest) {
      oldest = a;
      victim = &e;
    }
  }
  // Two workers may race here for one slot; either result is a valid table.
  victim->seen.store(stamp(now, vlan), std::memory_order_relaxed);
  victim->key.store(key, std::memory_order_release);
}

uint16_t MacTable::lookup(uint64_t mac, uint64_t now, uint16_t vlan) const {
  const Bucket& b = bucket_for(mac, vlan);
  for (const Entry& e : b.entries) {
    uint64_t k = e.key.load(std::memory_order_acquire);
    if (k != 0 && k >> 16 == mac) {
      uint64_t seen = e.seen.load(std::memory_order_relaxed);
      if (vlan_of(seen) != vlan) continue;
      if (age(now, seen) > aging_ticks_) return kNoPort;
      return static_cast<uint16_t>(k & 0xffff);
    }
  }
  return kNoPort;
}

size_t MacTable::flush_port(uint16_t port) {
  size_t n = 0;
  for (uint32_t i = 0; i <= mask_; ++i) {
    for (Entry& e : buckets_[i].entries) {
      uint64_t k = e.key.load();
      if (k != 0 && (k & 0xffff) == port) {
        e.key.store(0);
        ++n;
      }
    }
  }
  return n;
}

size_t MacTable::flush() {
  size_t n = 0;
  for (uint32_t i = 0; i <= mask_; ++i) {
    for (Entry& e : buckets_[i].entries) n += e.key.exchange(0) != 0;
  }
  return n;
}

size_t MacTable::size(uint64_t now) const {
  size_t n = 0;
  for (uint32_t i = 0; i <= mask_; ++i) {
    for (const Entry& e : buckets_[i].entries) {
      if (e.key.load() != 0 && age(now, e.seen.load()) <= aging_ticks_) ++n;
    }
  }
  return n;
}

}  // namespace ringlane::dataplane
