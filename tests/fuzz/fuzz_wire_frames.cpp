// Fuzzes what ringlane does to frames it did not make, from a guest or from the wire: reading a
// frame's VLAN as it enters a port, pushing or popping the tag for the port it leaves by, and
// turning an offload request into frames for a wire without offloads. The input is a virtio-net
// header, span cuts and the frame. Any input must give frames within their buffers or a refusal,
// never a crash; what leaves is never longer than the buffers allow, and a tag pushed or popped
// changes the length by exactly 4.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "ringlane/net/port_vlans.h"
#include "ringlane/net/vlan_rewrite.h"
#include "ringlane/net/wire_frame.h"

namespace {

using namespace ringlane;

class BoundedSink final : public net::FrameSink {
 public:
  std::span<uint8_t> buffer() override {
    if (frames_ == 64) return {};
    return buffer_;
  }
  void commit(uint32_t len) override {
    if (len > sizeof(buffer_)) __builtin_trap();
    ++frames_;
  }
  uint32_t frames() const { return frames_; }

 private:
  uint8_t buffer_[2048];
  uint32_t frames_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // 12 bytes of header, 1 byte: number of cuts (0-7), then that many 16-bit cut offsets.
  if (size < 13) return 0;
  virtio::NetHeader hdr;
  std::memcpy(&hdr, data, sizeof(hdr));
  size_t ncuts = data[12] % 8;
  size_t at = 13;
  if (size < at + 2 * ncuts) return 0;
  std::vector<size_t> cuts;
  for (size_t i = 0; i < ncuts; ++i, at += 2) cuts.push_back(data[at] | size_t{data[at + 1]} << 8);
  std::vector<uint8_t> frame(data + at, data + size);
  if (frame.empty()) return 0;
  auto batch = std::make_unique<net::PacketBatch>();
  net::PacketView& p = batch->packets[0];
  p = {0, 0, 0, static_cast<uint32_t>(frame.size()), hdr};
  size_t from = 0;
  cuts.push_back(frame.size());
  for (size_t cut : cuts) {
    if (cut <= from || cut > frame.size()) continue;
    batch->spans[batch->spans_used++] = {frame.data() + from, cut - from};
    ++p.span_count;
    from = cut;
  }
  batch->count = 1;

  BoundedSink sink;
  net::WireFrames wire = net::write_wire_frames(*batch, p, sink);
  if (wire.frames != sink.frames()) __builtin_trap();

  net::PortVlans ports[] = {net::PortVlans{}, net::PortVlans::from(10, {}),
                            net::PortVlans::from(0, {1, 10, 4094})};
  static const uint16_t kFirst[1] = {0};
  net::VlanRewrite rewrite;
  for (const net::PortVlans& in : ports) {
    auto vlan = net::ingress_vlan(in, *batch, p);
    if (!vlan) continue;
    if (!in.carries(vlan->vid)) __builtin_trap();  // what enters belongs to the port
    net::FrameVlan vlans[1] = {*vlan};
    for (bool tag : {false, true}) {
      rewrite.rewrite(*batch, kFirst, vlans, tag);
      const net::PacketBatch& out = rewrite.batch();
      if (out.count + rewrite.dropped() != 1) __builtin_trap();
      if (out.count == 0) continue;
      const net::PacketView& q = out.packets[0];
      int64_t change = int64_t{q.len} - int64_t{p.len};
      if (vlan->tagged == tag ? change != 0 : (tag ? change != 4 : change != -4)) __builtin_trap();
      uint64_t total = 0;
      for (uint32_t s = 0; s < q.span_count; ++s) total += out.spans[q.first_span + s].len;
      if (total != q.len) __builtin_trap();
      BoundedSink again;
      (void)net::write_wire_frames(out, q, again);
    }
  }
  return 0;
}
