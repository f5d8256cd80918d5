// `ringlane-ctl top`: a live view of the ringlane daemon's ports and workers, like OVS's
// pmd-stats-show in a loop. Every interval it reads GET /ports and GET /workers and shows the
// rates since the previous reading (top_rates.h, daemon_view.h's format_top): on a terminal it
// redraws the screen; into a pipe or file it writes one view after another; with --json one
// line per reading. It runs until interrupted, or for `count` readings.
#pragma once

#include <cstdint>
#include <optional>

#include "ringlane/ctl/api_call.h"

namespace ringlane::ctl {

struct TopOptions {
  double interval_seconds = 1.0;
  std::optional<uint64_t> count;  // views to show; none: until interrupted
  bool json = false;
};

// The exit status: 0 after `count` views, or the API's failure (printed on stderr) as
// call_api() sorts it.
int run_top(const ApiEndpoint& api, const TopOptions& options);

}  // namespace ringlane::ctl
