// Minimal leveled logging to stderr for cold paths (control plane, errors). Never per packet.
#pragma once

#include <cstdio>
#include <functional>
#include <string>

namespace ringlane {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };

void set_log_level(LogLevel level);
LogLevel log_level();
void log_line(LogLevel level, const std::string& text);

// Rate-limited variant for messages a hostile peer can trigger repeatedly, with one limit shared
// by the whole process; a source of its own should have its own LogLimit (log_limit.h).
void log_line_limited(LogLevel level, const std::string& text);

// For tests: lines go to `sink` instead of stderr; an empty sink restores stderr. Setting it
// also restarts log_line_limited's limit, so a test sees its own lines whatever ran before it. The
// sink runs under the log's lock, so it must not log itself.
using LogSink = std::function<void(LogLevel level, const std::string& text)>;
void set_log_sink(LogSink sink);

}  // namespace ringlane

#define RL_LOG(level, text)                                       \
  do {                                                            \
    if (::ringlane::LogLevel::level >= ::ringlane::log_level()) { \
      ::ringlane::log_line(::ringlane::LogLevel::level, (text));  \
    }                                                             \
  } while (0)
