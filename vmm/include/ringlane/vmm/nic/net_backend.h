// NetBackend: who serves a virtio-net device's queues. The device model (virtio_net_device.h)
// owns the PCI side; a backend is handed the negotiated features and rings at activation and
// gives them back, with the position where it stopped, so another backend can take over.
#pragma once

#include <cstdint>
#include <string>

#include "ringlane/base/result.h"
#include "ringlane/virtio/guest_memory.h"
#include "ringlane/vmm/virtio/virtio_device.h"

namespace ringlane::vmm {

struct NetQueues {
  std::string nic;  // the card's name, for log lines about its queues
  uint64_t features = 0;
  const virtio::GuestMemory* memory = nullptr;
  VirtqueueConfig rx;  // virtqueue 0: the guest's receive queue
  VirtqueueConfig tx;  // virtqueue 1: the guest's transmit queue
  // Next avail ring entry to take on each queue (0 after a reset).
  uint16_t rx_next_avail = 0;
  uint16_t tx_next_avail = 0;
};

struct QueuePositions {
  uint16_t rx_next_avail = 0;
  uint16_t tx_next_avail = 0;
};

struct NetBackendCounters {
  uint64_t rx_frames = 0;  // into the guest
  uint64_t tx_frames = 0;  // from the guest
  uint64_t rx_bytes = 0;
  uint64_t tx_bytes = 0;
  uint64_t drops = 0;       // frames lost by this backend, any reason
  uint64_t kicks = 0;       // doorbells the backend woke up for
  uint64_t interrupts = 0;  // call eventfd signals to the guest
  uint64_t wakeups = 0;     // times the backend's thread slept and woke

  NetBackendCounters& operator+=(const NetBackendCounters& o) {
    rx_frames += o.rx_frames;
    tx_frames += o.tx_frames;
    rx_bytes += o.rx_bytes;
    tx_bytes += o.tx_bytes;
    drops += o.drops;
    kicks += o.kicks;
    interrupts += o.interrupts;
    wakeups += o.wakeups;
    return *this;
  }
};

class NetBackend {
 public:
  virtual ~NetBackend() = default;
  virtual std::string kind() const = 0;  // "tap", "vhost-user"
  // Begins serving. On failure nothing of the start is left behind (a ring started before the
  // failure is taken back), unless running() still says so: then the backend may hold the rings.
  virtual Status start(const NetQueues& queues) = 0;
  // Stops serving: the transmit queue first, and the receive queue once answers to the guest's
  // last frames stop arriving (receive_drain.h). Every buffer taken from an avail ring has been
  // returned in the used ring. Returns where each ring stopped. On failure, running() tells
  // whether the backend may still touch the rings (then nothing else may serve them) or has let
  // go of them without saying where it stopped (then the used rings tell: see ring_resume.h).
  virtual Result<QueuePositions> stop() = 0;
  virtual bool running() const = 0;
  // Can start (again): false once a vhost-user connection has ended; a new backend is needed.
  virtual bool usable() const { return true; }
  virtual NetBackendCounters counters() const = 0;
};

}  // namespace ringlane::vmm
