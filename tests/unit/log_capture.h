// LogCapture: while it lives, log lines are collected instead of going to stderr, so a test can
// check what an error path told the operator.
#pragma once

#include <string>
#include <vector>

#include "ringlane/base/log.h"

namespace ringlane {

class LogCapture {
 public:
  LogCapture() {
    set_log_sink([this](LogLevel, const std::string& text) { lines_.push_back(text); });
  }
  ~LogCapture() { set_log_sink(nullptr); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  const std::vector<std::string>& lines() const { return lines_; }

 private:
  std::vector<std::string> lines_;
};

}  // namespace ringlane
