// Counter: a statistic with a single writer (the worker serving it) and any number of readers.
// Relaxed load-then-store keeps the write free of locked instructions.
#pragma once

#include <atomic>
#include <cstdint>

namespace ringlane {

class Counter {
 public:
  void add(uint64_t n) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void inc() { add(1); }
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }
  void reset() { v_.store(0, std::memory_order_relaxed); }
  // For a reading that is replaced rather than summed (a time, a maximum).
  void set(uint64_t v) { v_.store(v, std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

}  // namespace ringlane
