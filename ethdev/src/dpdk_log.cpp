#include "dpdk_log.h"

#include <rte_log.h>

#include <cstdio>
#include <deque>
#include <mutex>

#include "ringlane/base/log.h"
#include "ringlane/ethdev/eal.h"

namespace ringlane::ethdev {

namespace {

// Enough to explain a refusal (DPDK logs the driver's reason, then the bus's, then the EAL's).
constexpr size_t kKeptErrors = 6;

struct CapturedLog {
  std::mutex mutex;
  std::string partial;  // a line not yet ended by '\n'
  int holders = 0;      // DpdkErrors alive
  std::deque<std::pair<LogLevel, std::string>> held;
  FILE* stream = nullptr;
};

CapturedLog& captured() {
  static CapturedLog log;
  return log;
}

LogLevel ringlane_level(int level) {
  auto dpdk_level = static_cast<unsigned>(level);
  if (dpdk_level <= RTE_LOG_ERR) return LogLevel::error;
  if (dpdk_level <= RTE_LOG_NOTICE) return LogLevel::warn;
  if (dpdk_level <= RTE_LOG_INFO) return LogLevel::info;
  return LogLevel::debug;
}

// fopencookie's write: DPDK may log from any thread (a driver's error on a worker), so lines
// are assembled under a lock. The level is the one of the message being written.
ssize_t write_dpdk_log(void* /*cookie*/, const char* data, size_t size) {
  CapturedLog& log = captured();
  LogLevel level = ringlane_level(rte_log_cur_msg_loglevel());
  std::lock_guard<std::mutex> lock(log.mutex);
  log.partial.append(data, size);
  size_t end;
  while ((end = log.partial.find('\n')) != std::string::npos) {
    std::string line = log.partial.substr(0, end);
    log.partial.erase(0, end + 1);
    if (line.empty()) continue;
    if (level >= LogLevel::warn && log.holders > 0) {
      log.held.emplace_back(level, line);
      if (log.held.size() > kKeptErrors) log.held.pop_front();
    } else if (level >= log_level()) {
      log_line(level, "dpdk: " + line);
    }
  }
  return static_cast<ssize_t>(size);
}

}  // namespace

void capture_dpdk_log() {
  CapturedLog& log = captured();
  if (log.stream != nullptr) return;
  cookie_io_functions_t io{};
  io.write = write_dpdk_log;
  log.stream = fopencookie(nullptr, "w", io);
  if (log.stream == nullptr) return;  // DPDK keeps its own stream
  setvbuf(log.stream, nullptr, _IONBF, 0);
  rte_openlog_stream(log.stream);
}

void release_dpdk_log() {
  CapturedLog& log = captured();
  if (log.stream == nullptr) return;
  rte_openlog_stream(nullptr);
  fclose(log.stream);
  log.stream = nullptr;
}

DpdkErrors::DpdkErrors() {
  CapturedLog& log = captured();
  std::lock_guard<std::mutex> lock(log.mutex);
  ++log.holders;
}

DpdkErrors::~DpdkErrors() {
  CapturedLog& log = captured();
  std::lock_guard<std::mutex> lock(log.mutex);
  if (--log.holders > 0) return;
  for (const auto& [level, line] : log.held) log_line(level, "dpdk: " + line);
  log.held.clear();
}

std::string DpdkErrors::take() {
  CapturedLog& log = captured();
  std::lock_guard<std::mutex> lock(log.mutex);
  std::string text;
  for (const auto& held : log.held) {
    if (!text.empty()) text += "; ";
    text += held.second;
  }
  log.held.clear();
  return text;
}

}  // namespace ringlane::ethdev
