#include "ringlane/vmm/nic/receive_drain.h"

#include <thread>

namespace ringlane::vmm {

bool drain_until_quiet(const std::function<uint64_t()>& delivered, std::chrono::milliseconds quiet,
                       std::chrono::milliseconds limit) {
  using Clock = std::chrono::steady_clock;
  auto start = Clock::now();
  auto last_change = start;
  uint64_t last = delivered();
  // A millisecond is short against any peer's answer time and long against a poll's cost.
  constexpr std::chrono::milliseconds kPoll{1};
  for (;;) {
    auto now = Clock::now();
    if (now - last_change >= quiet) return true;
    if (now - start >= limit) return false;
    std::this_thread::sleep_for(kPoll);
    uint64_t current = delivered();
    if (current != last) {
      last = current;
      last_change = Clock::now();
    }
  }
}

}  // namespace ringlane::vmm
