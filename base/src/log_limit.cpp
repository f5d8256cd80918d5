#include "ringlane/base/log_limit.h"

#include <time.h>

namespace ringlane {

void LogLimit::log(LogLevel level, const std::string& text) {
  if (level < log_level()) return;
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  long now = ts.tv_sec;
  if (window_.exchange(now, std::memory_order_relaxed) != now) {
    count_.store(0, std::memory_order_relaxed);
  }
  if (count_.fetch_add(1, std::memory_order_relaxed) >= lines_per_second_) {
    left_out_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  uint64_t skipped = left_out_.exchange(0, std::memory_order_relaxed);
  if (skipped == 0) {
    log_line(level, text);
  } else {
    log_line(level, text + " (" + std::to_string(skipped) + " similar line" +
                        (skipped == 1 ? "" : "s") + " left out before this one)");
  }
}

void LogLimit::reset() {
  window_.store(-1, std::memory_order_relaxed);
  count_.store(0, std::memory_order_relaxed);
  left_out_.store(0, std::memory_order_relaxed);
}

}  // namespace ringlane
