// LogLimit: a rate limit for log lines a peer can make us write over and over (bad messages,
// broken rings, connects). Each source (a port, a queue) has its own, so one hostile frontend
// fills only its own share and a neighbour's warning still gets through. Lines left out are
// counted and the next line that passes says how many. Counters carry the full story.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "ringlane/base/log.h"

namespace ringlane {

class LogLimit {
 public:
  static constexpr int kDefaultLinesPerSecond = 10;

  explicit LogLimit(int lines_per_second = kDefaultLinesPerSecond)
      : lines_per_second_(lines_per_second) {}
  LogLimit(const LogLimit&) = delete;
  LogLimit& operator=(const LogLimit&) = delete;

  // Logs `text` unless this source has used its lines for the current second. Safe to call from
  // several threads; the count may then let a line or two more through, never fewer.
  void log(LogLevel level, const std::string& text);
  // Lines left out since the last one that passed.
  uint64_t left_out() const { return left_out_.load(std::memory_order_relaxed); }
  // Starts afresh, as if nothing had been logged (for tests).
  void reset();

 private:
  const int lines_per_second_;
  std::atomic<long> window_{-1};  // the CLOCK_MONOTONIC second being counted
  std::atomic<int> count_{0};
  std::atomic<uint64_t> left_out_{0};
};

}  // namespace ringlane
