// The guest's receive side: copying packets into a virtio-net RX queue's buffers (a split or a
// packed ring), once, with mergeable buffers when negotiated, and finishing offloads the receiver
// did not negotiate.
#pragma once

#include <cstdint>
#include <span>

#include "ringlane/net/features.h"
#include "ringlane/net/packet_batch.h"
#include "ringlane/virtio/packed_queue.h"
#include "ringlane/virtio/split_queue.h"

namespace ringlane::net {

// Copies the packets `batch.packets[i]` for each i in `which` into the guest's buffers. Packets
// that do not fit are counted as drops on `queue`. Returns the number delivered.
uint16_t enqueue_burst(virtio::SplitQueue& queue, const NetFeatures& features,
                       const PacketBatch& batch, std::span<const uint16_t> which);
uint16_t enqueue_burst(virtio::PackedQueue& queue, const NetFeatures& features,
                       const PacketBatch& batch, std::span<const uint16_t> which);

}  // namespace ringlane::net
