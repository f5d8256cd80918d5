// QueueStats: one virtqueue's counters, kept by whichever queue kind serves it (SplitQueue,
// PackedQueue) so that statistics, the API and metrics read both alike. Single writer: the
// worker serving the queue (the control thread only reads).
#pragma once

#include "ringlane/base/counter.h"

namespace ringlane::virtio {

struct QueueStats {
  Counter packets;
  Counter bytes;
  Counter drop_no_buffers;  // the guest offered no (or too few) receive buffers
  Counter drop_too_large;   // the packet did not fit a non-mergeable receive buffer
  Counter drop_malformed;   // bad virtio-net header or checksum offsets from the guest
  Counter drop_queue_down;  // destination queue not running
  Counter drop_chain;       // chain dropped for a limit of ours (too many segments)
  Counter ring_errors;      // protocol violations that broke the queue
  Counter notifications;    // call eventfd signals sent
  Counter kicks;            // kick eventfd signals read (by a worker woken from its sleep)
  Counter bursts;           // non-empty bursts
  Counter dirty_pages;      // pages newly marked in a migration's dirty log (VHOST_F_LOG_ALL)
};

}  // namespace ringlane::virtio
