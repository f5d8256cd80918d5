#include "ringlane/base/cpu_affinity.h"

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <string>

namespace ringlane {

namespace {

Result<int> parse_core(std::string_view text) {
  int value = -1;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value < 0 || value >= CPU_SETSIZE) {
    return Error(EINVAL, "bad core number '" + std::string(text) + "'");
  }
  return value;
}

}  // namespace

Result<std::vector<int>> parse_core_list(std::string_view text) {
  std::vector<int> cores;
  if (text.empty()) return Error(EINVAL, "empty core list");
  while (!text.empty()) {
    auto comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    auto dash = item.find('-');
    RINGLANE_ASSIGN_OR_RETURN(const int first, parse_core(item.substr(0, dash)));
    int last = first;
    if (dash != std::string_view::npos) {
      RINGLANE_ASSIGN_OR_RETURN(last, parse_core(item.substr(dash + 1)));
      if (last < first) return Error(EINVAL, "bad core range '" + std::string(item) + "'");
    }
    for (int c = first; c <= last; ++c) {
      if (std::find(cores.begin(), cores.end(), c) == cores.end()) cores.push_back(c);
    }
  }
  return cores;
}

Status pin_current_thread(int core) {
  return pin_current_thread(std::vector<int>{core});
}

Status pin_current_thread(const std::vector<int>& cores) {
  if (cores.empty()) return Error(EINVAL, "pin thread: no core given");
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : cores) {
    if (c < 0 || c >= CPU_SETSIZE)
      return Error(EINVAL, "pin thread: bad core " + std::to_string(c));
    CPU_SET(c, &set);
  }
  int rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  if (rc != 0) return Error(rc, "pin thread to core(s) " + format_core_list(cores));
  return {};
}

Result<std::vector<int>> allowed_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (int rc = pthread_getaffinity_np(pthread_self(), sizeof(set), &set); rc != 0) {
    return Error(rc, "read this thread's CPU affinity");
  }
  std::vector<int> cores;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) cores.push_back(c);
  }
  return cores;
}

std::vector<int> cores_except(std::vector<int> cores, const std::vector<int>& excluded) {
  std::erase_if(cores, [&](int c) {
    return std::find(excluded.begin(), excluded.end(), c) != excluded.end();
  });
  return cores;
}

std::string format_core_list(const std::vector<int>& cores) {
  std::string out;
  for (size_t i = 0; i < cores.size();) {
    size_t j = i;
    while (j + 1 < cores.size() && cores[j + 1] == cores[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(cores[i]);
    if (j > i) out += '-' + std::to_string(cores[j]);
    i = j + 1;
  }
  return out;
}

int online_core_count() {
  return static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN));
}

}  // namespace ringlane
