// Port: anything the switch forwards between: a VM's vhost-user-net device, or an uplink (an
// AF_XDP interface, a DPDK ethdev, a TAP device). Burst calls from workers; "receive" is traffic
// entering the switch from the port. Cold calls (tick, address_learned, statistics) from the
// control thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

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
  uint64_t notifications = 0;  // calls: interrupts sent to the guest
  uint64_t kicks = 0;          // kicks read by a worker woken from its sleep
  uint32_t rx_occupancy = 0;   // buffers the guest offered and the switch has not taken
  uint32_t tx_occupancy = 0;   // receive buffers the guest offered and the switch has not filled
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
  // "vhost", "afxdp", "dpdk" or "tap", as --port kind= names them.
  virtual const char* kind() const = 0;
  // Port-wide counters beyond the queues' (frames refused from the wire by reason, link state,
  // the NIC's own counters), by name, for the summary.
  virtual std::vector<std::pair<std::string, uint64_t>> counters() const { return {}; }

  // Control thread, about every 20 ms: reconnects, link state, upkeep.
  virtual void tick(std::chrono::steady_clock::time_point /*now*/) {}
  // Whether the port wants to know the addresses the switch learned (an AF_XDP uplink steers
  // frames for them to itself); only then are the two calls below made.
  virtual bool wants_addresses() const { return false; }
  // Control thread: the switch learned `mac` (48 bits) on VLAN `vlan` (0: the VLAN of ports
  // without VLANs) at port index `port`, or saw it move there.
  virtual void address_learned(uint64_t /*mac*/, uint16_t /*vlan*/, uint16_t /*port*/) {}
  // Control thread: `mac` on `vlan` aged out of the switch (or its port went away).
  virtual void address_forgotten(uint64_t /*mac*/, uint16_t /*vlan*/) {}
  // --- sleeping between kicks (--idle sleep), on the worker polling queue pair `qp` ----------
  struct Wakeup {
    int fd = -1;         // becomes readable (POLLIN) when frames arrive; -1: none needed
    bool ready = false;  // frames are waiting already, or the queue cannot wake a sleeper
  };
  // Asks the queue pair to make `fd` readable when frames arrive. A queue that cannot receive
  // now (not started) needs no fd: starting it wakes sleepers. By default a port cannot wake a
  // sleeper (it is always ready), so a worker polling it never sleeps.
  virtual Wakeup arm_wakeup(uint16_t /*qp*/) { return {-1, true}; }
  // Back to polling; `signalled`: the fd was readable (an eventfd the port reads and counts).
  virtual void disarm_wakeup(uint16_t /*qp*/, bool /*signalled*/) {}

  // Several workers may transmit into one queue (there are more workers than queues): the port
  // must serialise them per burst.
  virtual void set_shared_transmit(bool /*shared*/) {}
};

}  // namespace ringlane::dataplane
