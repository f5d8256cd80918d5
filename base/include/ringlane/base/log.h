// Minimal leveled logging to stderr for cold paths (control plane, errors). Never per packet.
#pragma once

#include <cstdio>
#include <string>

namespace ringlane {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };

void set_log_level(LogLevel level);
LogLevel log_level();
void log_line(LogLevel level, const std::string& text);

// Rate-limited variant for messages a hostile peer can trigger repeatedly.
void log_line_limited(LogLevel level, const std::string& text);

}  // namespace ringlane

#define RL_LOG(level, text)                                       \
  do {                                                            \
    if (::ringlane::LogLevel::level >= ::ringlane::log_level()) { \
      ::ringlane::log_line(::ringlane::LogLevel::level, (text));  \
    }                                                             \
  } while (0)
