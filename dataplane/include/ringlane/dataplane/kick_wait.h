// KickWait: how a worker whose queues have been empty for a while (--idle sleep) sleeps in the
// kernel until one of them is kicked, instead of burning its core. It asks each queue to signal
// (guest rings: notifications back on; uplinks: their fd), checks once more for work that slipped
// in meanwhile, and polls the fds together with its own wake eventfd, through which the control
// thread interrupts it for a grace period (QuiescentState) or a queue that started.
#pragma once

#include <poll.h>

#include <chrono>
#include <vector>

#include "ringlane/base/event_fd.h"
#include "ringlane/base/result.h"
#include "ringlane/dataplane/forwarding.h"
#include "ringlane/virtio/packed_queue.h"
#include "ringlane/virtio/split_queue.h"

namespace ringlane::dataplane {

// A guest ring as a sleeper's wake-up source: notifications back on and its kick eventfd (none
// needed while it is not serving: starting it wakes sleepers; "ready" when the driver gave no
// kick fd, since it expects polling). Vhost ports' queue pairs and disk rings alike, split or
// packed.
Port::Wakeup arm_ring_wakeup(virtio::SplitQueue& ring);
Port::Wakeup arm_ring_wakeup(virtio::PackedQueue& ring);
// Back to polling: the kicks that came are read and counted, notifications off again.
void disarm_ring_wakeup(virtio::SplitQueue& ring, bool signalled);
void disarm_ring_wakeup(virtio::PackedQueue& ring, bool signalled);

class KickWait {
 public:
  static Result<KickWait> create();

  int wake_fd() const { return wake_.fd(); }
  // Arms every queue worker `worker` polls in `view`. False when one has work waiting or cannot
  // wake a sleeper: then the worker must go on polling (call disarm()).
  bool arm(const SwitchView& view, unsigned worker);
  // Sleeps until a queue is kicked, the worker is woken, or `timeout` passes.
  void wait(std::chrono::milliseconds timeout);
  // Back to polling: the queues stop asking for kicks; kicks that came are read and counted.
  void disarm();

 private:
  explicit KickWait(EventFd wake) : wake_(std::move(wake)) {}
  struct Armed {
    Port* port = nullptr;                // a port's queue pair, or
    uint16_t queue_pair = 0;             //
    virtio::SplitQueue* ring = nullptr;  // a disk's virtqueue
    int pollfd_index = -1;               // its entry in fds_, or -1 without an fd
  };

  EventFd wake_;
  std::vector<Armed> armed_;  // reused sleep after sleep
  std::vector<pollfd> fds_;   // fds_[0] is the wake eventfd
};

}  // namespace ringlane::dataplane
