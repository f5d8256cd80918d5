// TapNetBackend: the "virtio" NIC mode. A VMM thread serves the queues with the same burst code
// ringlane's data path uses (vhost_user/net_tx.h, net_rx.h) and moves frames to and from a TAP
// device. It sleeps in epoll on the doorbell eventfds and the TAP fd, asking for doorbells only
// when idle (event-idx or the NO_NOTIFY flag), so a busy guest rings rarely.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <thread>

#include "ringlane/base/event_fd.h"
#include "ringlane/net/features.h"
#include "ringlane/net/packet_batch.h"
#include "ringlane/virtio/split_queue.h"
#include "ringlane/vmm/nic/net_backend.h"
#include "ringlane/uplink/tap_device.h"

namespace ringlane::vmm {

class TapNetBackend : public NetBackend {
 public:
  static Result<std::unique_ptr<TapNetBackend>> create(uplink::TapDevice tap);
  ~TapNetBackend() override;

  std::string kind() const override { return "tap"; }
  Status start(const NetQueues& queues) override;
  Result<QueuePositions> stop() override;
  bool running() const override { return thread_.joinable(); }
  NetBackendCounters counters() const override;

 private:
  // The largest frame a TAP read may return (jumbo frames included).
  static constexpr uint32_t kFrameMax = 9216;

  TapNetBackend(uplink::TapDevice tap, EventFd stop) : tap_(std::move(tap)), stop_(std::move(stop)) {}
  void serve();
  // One burst each way; return the number of frames moved.
  uint16_t transmit_burst();
  uint16_t receive_burst();

  uplink::TapDevice tap_;
  EventFd stop_;
  NetQueues queues_;
  net::NetFeatures features_;
  virtio::SplitQueue rx_;
  virtio::SplitQueue tx_;
  net::PacketBatch batch_;
  std::unique_ptr<std::array<uint8_t, kFrameMax>[]> frames_;
  std::thread thread_;
  std::atomic<uint64_t> tx_frames_{0};
  std::atomic<uint64_t> rx_frames_{0};
  std::atomic<uint64_t> tx_bytes_{0};
  std::atomic<uint64_t> rx_bytes_{0};
  std::atomic<uint64_t> drops_{0};
  std::atomic<uint64_t> kicks_{0};
  std::atomic<uint64_t> wakeups_{0};
  std::atomic<bool> transmit_stopped_{false};  // draining: receive only
};

}  // namespace ringlane::vmm
