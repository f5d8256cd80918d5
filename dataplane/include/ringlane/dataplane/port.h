// Port: anything the switch forwards between (vhost-user-net today; TAP, DPDK ethdev, AF_XDP
// later). Burst calls from workers; "receive" is traffic entering the switch from the port.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "ringlane/net/packet_batch.h"

namespace ringlane::dataplane {

using net::PacketBatch;

struct QueueCounters {
  uint64_t packets = 0;
  uint64_t bytes = 0;
  uint64_t drops = 0;
};

struct PortQueueStats {
  uint16_t queue_pair = 0;
  bool rx_live = false;  // the queue the switch receives from
  bool tx_live = false;  // the queue the switch transmits into
  uint64_t rx_packets = 0, rx_bytes = 0;
  uint64_t tx_packets = 0, tx_bytes = 0;
  uint64_t rx_drop_malformed = 0, rx_drop_chain = 0, rx_ring_errors = 0;
  uint64_t tx_drop_no_buffers = 0, tx_drop_too_large = 0, tx_drop_queue_down = 0,
           tx_ring_errors = 0;
  uint64_t notifications = 0;
};

class Port {
 public:
  virtual ~Port() = default;
  virtual const std::string& name() const = 0;
  virtual uint16_t queue_pairs() const = 0;

  // Receives up to a burst from queue pair `qp` into `batch` (cleared first).
  virtual uint16_t receive(uint16_t qp, net::PacketBatch& batch) = 0;
  // Gives the buffers of a received batch back to the port.
  virtual void release(uint16_t qp, const net::PacketBatch& batch) = 0;
  // Sends batch.packets[i] for i in `which` through queue pair `qp`; returns the number sent,
  // counting the rest as drops. Never blocks.
  virtual uint16_t transmit(uint16_t qp, const net::PacketBatch& batch,
                            std::span<const uint16_t> which) = 0;
  // A queue pair this port can transmit into now (for worker `worker`), or -1 when none.
  virtual int transmit_queue_for(unsigned worker) const = 0;

  // Cold path: statistics for reporting.
  virtual std::vector<PortQueueStats> queue_stats() const = 0;
  virtual bool connected() const = 0;
};

}  // namespace ringlane::dataplane
