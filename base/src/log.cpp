#include "ringlane/base/log.h"

#include <time.h>

#include <atomic>
#include <mutex>

#include "ringlane/base/log_limit.h"

namespace ringlane {

namespace {

std::atomic<LogLevel> g_level{LogLevel::info};
std::mutex g_mutex;
LogSink g_sink;  // guarded by g_mutex

LogLimit& shared_limit() {
  static LogLimit limit;
  return limit;
}

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
  shared_limit().log(level, text);
}

void set_log_sink(LogSink sink) {
  {
    std::lock_guard lock(g_mutex);
    g_sink = std::move(sink);
  }
  shared_limit().reset();
}

}  // namespace ringlane
