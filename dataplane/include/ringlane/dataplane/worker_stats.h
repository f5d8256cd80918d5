// WorkerStats: one worker's own efficiency figures, written by it alone.
#pragma once

#include "ringlane/base/counter.h"

namespace ringlane::dataplane {

struct WorkerStats {
  Counter packets;        // packets received from ports
  Counter bursts;         // non-empty polls
  Counter idle_polls;     // polls that found nothing
  Counter busy_cycles;    // TSC cycles spent on non-empty polls
  Counter loops;          // poll-loop iterations
  Counter drop_no_route;  // no peer, or the destination had no live queue
  Counter drop_filtered;  // destination is the input port
  Counter flooded;        // packets sent to every other port
  Counter drop_vlan;      // refused by the input port's VLANs, or could not be re-tagged
  Counter sleeps;         // waits in the kernel for disk I/O (--idle-sleep-us)
};

}  // namespace ringlane::dataplane
