// NetBackend: who serves a virtio-net device's queues. The device model (virtio_net_device.h)
// owns the PCI side; a backend is handed the negotiated features and rings at activation and
// gives them back, with the position where it stopped, so another backend can take over.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "ringlane/base/result.h"
#include "ringlane/vhost_user/guest_memory.h"
#include "ringlane/vmm/virtio_device.h"

namespace ringlane::vmm {

struct NetQueues {
  uint64_t features = 0;
  const vhost_user::GuestMemory* memory = nullptr;
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

// How long a stopping backend keeps receiving after it stopped transmitting.
inline constexpr std::chrono::milliseconds kReceiveDrain{50};

class NetBackend {
 public:
  virtual ~NetBackend() = default;
  virtual std::string kind() const = 0;  // "tap", "vhost-user"
  // Begins serving. Fails without touching guest memory if the rings are unusable.
  virtual Status start(const NetQueues& queues) = 0;
  // Stops serving; every buffer taken from an avail ring has been returned in the used ring.
  // The transmit queue stops first and the receive queue a drain period later, so frames that
  // are answers to the guest's last transmissions still arrive instead of meeting a stopped ring.
  virtual Result<QueuePositions> stop() = 0;
  virtual bool running() const = 0;
  virtual NetBackendCounters counters() const = 0;
};

}  // namespace ringlane::vmm
