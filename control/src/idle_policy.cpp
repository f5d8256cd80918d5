#include "ringlane/control/idle_policy.h"

#include <charconv>
#include <cmath>

namespace ringlane::control {

Result<IdlePolicy> parse_idle_policy(std::string_view text) {
  if (text == "poll") return IdlePolicy{};
  if (text == "sleep") return IdlePolicy{kDefaultIdleSleepUs};
  constexpr std::string_view kSleep = "sleep:";
  if (text.substr(0, kSleep.size()) == kSleep) {
    std::string_view number = text.substr(kSleep.size());
    double us = 0;
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), us);
    if (ec == std::errc() && end == number.data() + number.size() && std::isfinite(us) && us >= 1 &&
        us <= 1e6) {
      return IdlePolicy{us};
    }
    return Error(EINVAL, "--idle sleep:" + std::string(number) +
                             ": the idle time must be 1 to 1000000 microseconds (a second)");
  }
  return Error(EINVAL,
               "--idle '" + std::string(text) + "': expected poll, sleep or sleep:MICROSECONDS");
}

std::string to_string(const IdlePolicy& policy) {
  if (!policy.sleeps()) return "poll";
  char text[32];
  auto [end, ec] = std::to_chars(text, text + sizeof(text), policy.sleep_after_us);
  return "sleep:" + std::string(text, ec == std::errc() ? end : text);
}

}  // namespace ringlane::control
