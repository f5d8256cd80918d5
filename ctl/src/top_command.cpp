#include "ringlane/ctl/top_command.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <thread>

#include "ringlane/base/program.h"
#include "ringlane/ctl/daemon_view.h"
#include "ringlane/ctl/top_rates.h"

namespace ringlane::ctl {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// Home the cursor and clear the screen (ANSI): each view replaces the last on a terminal.
constexpr const char* kClearScreen = "\033[H\033[2J";

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// GET `path`'s answer, or the exit status with the reason printed.
bool get(const ApiEndpoint& api, const char* path, json& answer, int& exit_status) {
  ApiOutcome r = call_api(api, "GET", path, "");
  if (r.exit_status != 0) {
    exit_status = report_failure("ringlane-ctl", r.message, r.exit_status);
    return false;
  }
  answer = std::move(r.body);
  return true;
}

}  // namespace

int run_top(const ApiEndpoint& api, const TopOptions& options) {
  const Clock::time_point start = Clock::now();
  int failed = 0;
  json status;
  if (!get(api, "/status", status, failed)) return failed;
  const json& tsc = status.is_object() && status.contains("tsc_hz") ? status["tsc_hz"] : json();
  uint64_t tsc_hz = tsc.is_number_unsigned() ? tsc.get<uint64_t>() : 0;
  // The sample's time is taken before its requests: each is read as soon as it is answered, so
  // the interval between two samples is what the counters saw, give or take the request's time.
  auto sample = [&](TopSample& s) {
    s.seconds = seconds_since(start);
    return get(api, "/ports", s.ports, failed) && get(api, "/workers", s.workers, failed);
  };
  // The views are paced from the first reading.
  Clock::time_point next = Clock::now();
  TopSample before;
  if (!sample(before)) return failed;
  const bool terminal = !options.json && isatty(STDOUT_FILENO) == 1;
  const auto interval = std::chrono::duration<double>(options.interval_seconds);
  for (uint64_t shown = 0; !options.count || shown < *options.count; ++shown) {
    // Paced by the clock, not by the time each view took, so the views do not drift.
    next += std::chrono::duration_cast<Clock::duration>(interval);
    // A slow answer: go on from now rather than catch up with views in a burst.
    next = std::max(next, Clock::now());
    std::this_thread::sleep_until(next);
    TopSample after;
    if (!sample(after)) return failed;
    json rates = top_rates(before, after, tsc_hz);
    if (options.json) {
      json line = {{"status", status},
                   {"ports", after.ports},
                   {"workers", after.workers},
                   {"rates", std::move(rates)}};
      std::cout << line.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
    } else if (terminal) {
      std::cout << kClearScreen << format_top(status, rates);
    } else {
      std::cout << (shown > 0 ? "\n" : "") << format_top(status, rates);
    }
    std::cout.flush();
    before = std::move(after);
  }
  return kExitDone;
}

}  // namespace ringlane::ctl
