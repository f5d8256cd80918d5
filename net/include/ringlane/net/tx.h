// The guest's transmit side: taking packets out of a virtio-net TX queue, split or packed, and
// giving the buffers back once the packets have been delivered.
#pragma once

#include <cstdint>

#include "ringlane/net/features.h"
#include "ringlane/net/packet_batch.h"
#include "ringlane/virtio/packed_queue.h"
#include "ringlane/virtio/split_queue.h"

namespace ringlane::net {

// Appends up to a burst of packets to `batch` (which the caller cleared). Malformed packets are
// given back to the guest at once and counted; a ring violation breaks the queue. Returns the
// number of packets added.
uint16_t dequeue_burst(virtio::SplitQueue& queue, const NetFeatures& features, PacketBatch& batch);
// The same on a packed ring; a packet's `head` and `source_heads` are buffer ids there.
uint16_t dequeue_burst(virtio::PackedQueue& queue, const NetFeatures& features, PacketBatch& batch);

// Returns every packet's buffers to the guest in one used-ring update.
void complete_burst(virtio::SplitQueue& queue, const PacketBatch& batch);
void complete_burst(virtio::PackedQueue& queue, const PacketBatch& batch);

}  // namespace ringlane::net
