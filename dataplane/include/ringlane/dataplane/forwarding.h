// Forwarding: what the switch does with a received batch. Two modes: a static cross-connect
// (port A <-> port B, for service chains and benchmarks) and an L2 learning switch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ringlane/blk/disk_queue.h"
#include "ringlane/dataplane/mac_table.h"
#include "ringlane/dataplane/output_lists.h"
#include "ringlane/dataplane/port.h"
#include "ringlane/dataplane/queue_handoff.h"
#include "ringlane/dataplane/queue_load.h"
#include "ringlane/dataplane/worker_stats.h"
#include "ringlane/net/port_vlans.h"
#include "ringlane/net/vlan_rewrite.h"

namespace ringlane::dataplane {

using net::FrameVlan;
using net::PortVlans;
using net::VlanRewrite;

enum class ForwardingMode { cross_connect, l2_switch };

const char* to_string(ForwardingMode mode);

// What workers see of the switch: published immutably, replaced as a whole, retired after a
// grace period.
struct SwitchView {
  struct Poll {
    uint16_t port;
    uint16_t queue_pair;
    QueueLoad* load;  // the engine's, for this queue pair
    // Non-null only while the queue pair moves between workers (QueueHandoff): every worker
    // listing it then polls it under this lock.
    QueueHandoff* handoff = nullptr;
  };
  ForwardingMode mode = ForwardingMode::cross_connect;
  std::vector<Port*> ports;              // by port index; nullptr for a removed port
  std::vector<int> peer;                 // cross-connect peer by port index, -1 for none
  std::vector<std::vector<Poll>> polls;  // by worker
  // Disk queues by worker. A queue stays with its worker for the disk's life: its I/O completes
  // on that worker's ring, which alone writes its used ring.
  std::vector<std::vector<blk::DiskQueue*>> disk_polls;
  MacTable* macs = nullptr;
  // VLANs by port index (l2 mode); empty when no port has any, which keeps the VLAN work off the
  // path of switches without them.
  std::vector<PortVlans> vlans;
  // A new epoch starts each queue's longest gap between bursts (QueueLoad) again.
  uint64_t gap_epoch = 1;
};

// A worker's scratch space for forwarding, reused burst after burst.
struct ForwardScratch {
  OutputLists outputs;               // an L2 burst sorted by destination
  FrameVlan vlans[net::kBurstSize];  // each packet's VLAN, when the switch has VLANs
  VlanRewrite rewrite;               // packets with a tag pushed or popped for one destination
};

// Sends a batch received on port `in` to its destinations. Returns packets delivered.
// `scratch` is the calling worker's; its output lists grow (allocating) the first time a view has
// more ports than they hold.
uint32_t forward_batch(const SwitchView& view, unsigned worker, uint16_t in,
                       const net::PacketBatch& batch, ForwardScratch& scratch, WorkerStats& stats);

}  // namespace ringlane::dataplane
