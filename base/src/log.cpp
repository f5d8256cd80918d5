#include "ringlane/base/log.h"

#include <time.h>

#include <atomic>
#include <mutex>

namespace ringlane {

namespace {

std::atomic<LogLevel> g_level{LogLevel::info};
std::mutex g_mutex;
LogSink g_sink;  // guarded by g_mutex
// log_line_limited's window (a second of CLOCK_MONOTONIC) and the lines logged in it.
std::atomic<long> g_limit_window{0};
std::atomic<int> g_limit_count{0};

const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::debug:
      return "debug";
    case LogLevel::info:
      return "info";
    case LogLevel::warn:
      return "warn";
    case LogLevel::error:
      return "error";
  }
  return "?";
}

}  // namespace

void set_log_level(LogLevel level) {
  g_level.store(level);
}
LogLevel log_level() {
  return g_level.load(std::memory_order_relaxed);
}

void log_line(LogLevel level, const std::string& text) {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  std::lock_guard lock(g_mutex);
  if (g_sink) {
    g_sink(level, text);
    return;
  }
  std::fprintf(stderr, "%ld.%03ld ringlane %s: %s\n", static_cast<long>(ts.tv_sec),
               ts.tv_nsec / 1000000, level_name(level), text.c_str());
}

void log_line_limited(LogLevel level, const std::string& text) {
  // At most 10 lines per second; the counters carry the full story.
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  long now = ts.tv_sec;
  if (g_limit_window.exchange(now) != now) g_limit_count.store(0);
  if (g_limit_count.fetch_add(1) < 10) log_line(level, text);
}

void set_log_sink(LogSink sink) {
  std::lock_guard lock(g_mutex);
  g_sink = std::move(sink);
  g_limit_count.store(0);
}

}  // namespace ringlane
