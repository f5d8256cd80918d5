// LatencyHistogram: durations in power-of-two buckets, written by one thread (Counter rules),
// read by any. Percentiles come out within a factor of two, which is what a rate line and a
// summary need; benchmarks that need exact figures keep their own samples.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>

#include "ringlane/base/counter.h"

namespace ringlane {

class LatencyHistogram {
 public:
  static constexpr size_t kBuckets = 48;

  // Bucket b holds durations in [2^(b-1), 2^b), bucket 0 the zero ones.
  void record(uint64_t duration) {
    size_t b = std::min<size_t>(std::bit_width(duration), kBuckets - 1);
    buckets_[b].inc();
  }
  uint64_t count() const {
    uint64_t n = 0;
    for (const Counter& c : buckets_) n += c.get();
    return n;
  }
  // Adds another histogram's counts (for totals over several writers; not for a live writer's
  // own histogram).
  void merge(const LatencyHistogram& other) {
    for (size_t b = 0; b < kBuckets; ++b) buckets_[b].add(other.buckets_[b].get());
  }
  // The upper bound of the bucket holding the q-quantile (0 < q <= 1); 0 when empty.
  uint64_t quantile(double q) const {
    uint64_t total = count();
    if (total == 0) return 0;
    auto rank = static_cast<uint64_t>(q * static_cast<double>(total));
    if (rank == 0) rank = 1;
    uint64_t seen = 0;
    for (size_t b = 0; b < kBuckets; ++b) {
      seen += buckets_[b].get();
      if (seen >= rank) return b == 0 ? 0 : (uint64_t{1} << b) - 1;
    }
    return (uint64_t{1} << (kBuckets - 1)) - 1;
  }

 private:
  std::array<Counter, kBuckets> buckets_;
};

}  // namespace ringlane
