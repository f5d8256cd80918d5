// IdlePolicy: what a worker does when its queues are empty (--idle): poll on (the default, the
// lowest latency), or sleep on the queues' kicks after they have been empty for a while (a core
// that costs nothing while its VMs are quiet, for a first frame that waits for the wake-up).
#pragma once

#include <string>
#include <string_view>

#include "ringlane/base/result.h"

namespace ringlane::control {

// The time `--idle sleep` waits with no work before sleeping, when none is given.
inline constexpr double kDefaultIdleSleepUs = 100;

struct IdlePolicy {
  double sleep_after_us = 0;  // 0: poll
  bool sleeps() const { return sleep_after_us > 0; }
};

// "poll", "sleep" or "sleep:MICROSECONDS" (1 us to 1 s, a decimal number).
Result<IdlePolicy> parse_idle_policy(std::string_view text);
// The spelling parse_idle_policy takes back: "poll" or "sleep:100".
std::string to_string(const IdlePolicy& policy);

}  // namespace ringlane::control
