// Frames as they leave on a wire that takes no offloads (an AF_XDP socket, a DPDK port without
// the NIC's checksum or TSO): a packet whose virtio-net header asks for segmentation becomes
// MSS-sized TCP segments, a partial checksum is finished, and each frame is copied once into a
// buffer the port provides. The common packet (no offload asked) takes copy_plain_frame.
#pragma once

#include <cstdint>
#include <span>

#include "ringlane/net/packet_batch.h"

namespace ringlane::net {

// Whether the packet's header asks for work a wire without offloads cannot do.
inline bool needs_wire_offload(const PacketView& p) {
  return (p.hdr.flags & virtio::kNetHdrFNeedsCsum) != 0 || p.hdr.gso_type != virtio::kNetHdrGsoNone;
}

// Copies a packet as it is into `out`; returns its length, or 0 when it does not fit.
uint32_t copy_plain_frame(const PacketBatch& batch, const PacketView& p, std::span<uint8_t> out);

// Where write_wire_frames puts frames: a fresh buffer for each (empty when the port has none
// left), and the length written into the last one handed out.
class FrameSink {
 public:
  virtual std::span<uint8_t> buffer() = 0;
  virtual void commit(uint32_t len) = 0;

 protected:
  ~FrameSink() = default;
};

struct WireFrames {
  uint32_t frames = 0;     // committed to the sink
  uint32_t dropped = 0;    // not sent: no buffer, or one too small
  bool malformed = false;  // an offload request ringlane cannot carry out (not TCP, bad offsets)
};

// Writes the frame or frames packet `p` becomes on the wire into `sink`: segmented when its header
// asks for GSO, its checksum finished when it asks for one, copied as it is otherwise.
WireFrames write_wire_frames(const PacketBatch& batch, const PacketView& p, FrameSink& sink);

}  // namespace ringlane::net
