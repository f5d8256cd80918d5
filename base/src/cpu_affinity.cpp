#include "ringlane/base/cpu_affinity.h"

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>

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
    auto first = parse_core(item.substr(0, dash));
    if (!first) return first.error();
    int last = *first;
    if (dash != std::string_view::npos) {
      auto end = parse_core(item.substr(dash + 1));
      if (!end) return end.error();
      last = *end;
      if (last < *first) return Error(EINVAL, "bad core range '" + std::string(item) + "'");
    }
    for (int c = *first; c <= last; ++c) {
      if (std::find(cores.begin(), cores.end(), c) == cores.end()) cores.push_back(c);
    }
  }
  return cores;
}

Status pin_current_thread(int core) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(core, &set);
  int rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  if (rc != 0) return Error(rc, "pin thread to core " + std::to_string(core));
  return {};
}

int online_core_count() {
  return static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN));
}

}  // namespace ringlane
