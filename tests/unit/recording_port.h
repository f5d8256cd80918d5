// RecordingPort: a switch port for forwarding tests that keeps what the switch sends it (each
// packet's source head and its bytes, flattened from the spans).
#pragma once

#include <string>
#include <vector>

#include "ringlane/dataplane/port.h"
#include "ringlane/virtio/span_cursor.h"

namespace ringlane::dataplane {

class RecordingPort final : public Port {
 public:
  explicit RecordingPort(std::string name) : name_(std::move(name)) {}

  const std::string& name() const override { return name_; }
  uint16_t queue_pairs() const override { return 1; }
  uint16_t receive(uint16_t, net::PacketBatch& batch) override {
    batch.clear();
    return 0;
  }
  void release(uint16_t, const net::PacketBatch&) override {}
  uint16_t transmit(uint16_t, const net::PacketBatch& batch,
                    std::span<const uint16_t> which) override {
    for (uint16_t i : which) {
      const net::PacketView& p = batch.packets[i];
      received_.push_back(p.head);
      std::vector<uint8_t> bytes(p.len);
      virtio::SpanCursor(batch.spans_of(p), p.span_count).read(bytes.data(), p.len);
      frames_.push_back(std::move(bytes));
      headers_.push_back(p.hdr);
    }
    return static_cast<uint16_t>(which.size());
  }
  int transmit_queue_for(unsigned) const override { return 0; }
  std::vector<PortQueueStats> queue_stats() const override { return {}; }
  bool connected() const override { return true; }
  const char* kind() const override { return "recording"; }

  // The source heads of the packets sent here, in order.
  const std::vector<uint16_t>& received() const { return received_; }
  const std::vector<std::vector<uint8_t>>& frames() const { return frames_; }
  const std::vector<virtio::NetHeader>& headers() const { return headers_; }
  void forget() {
    received_.clear();
    frames_.clear();
    headers_.clear();
  }

 private:
  std::string name_;
  std::vector<uint16_t> received_;
  std::vector<std::vector<uint8_t>> frames_;
  std::vector<virtio::NetHeader> headers_;
};

}  // namespace ringlane::dataplane
