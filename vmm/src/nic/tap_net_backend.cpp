#include "ringlane/vmm/nic/tap_net_backend.h"

#include <sys/uio.h>
#include <unistd.h>

#include "ringlane/base/epoll.h"
#include "ringlane/base/log.h"
#include "ringlane/net/rx.h"
#include "ringlane/net/tx.h"
#include "ringlane/vmm/nic/receive_drain.h"
#include "ringlane/vmm/virtio/ring_layout.h"

namespace ringlane::vmm {

namespace {
enum Token : uint64_t { kTxKick, kRxKick, kTapReadable, kStop };
}  // namespace

Result<std::unique_ptr<TapNetBackend>> TapNetBackend::create(uplink::TapDevice tap) {
  Result<EventFd> stop = EventFd::create();
  if (!stop.ok()) return stop.error();
  std::unique_ptr<TapNetBackend> b(new TapNetBackend(std::move(tap), std::move(*stop)));
  b->frames_ = std::make_unique<std::array<uint8_t, kFrameMax>[]>(net::kBurstSize);
  return b;
}

TapNetBackend::~TapNetBackend() {
  (void)stop();
}

Status TapNetBackend::start(const NetQueues& queues) {
  if (running()) return Error(EBUSY, "TAP backend already serving");
  Result<virtio::RingLayout> rx = ring_layout(*queues.memory, queues.rx);
  if (!rx.ok()) return rx.error();
  Result<virtio::RingLayout> tx = ring_layout(*queues.memory, queues.tx);
  if (!tx.ok()) return tx.error();
  queues_ = queues;
  features_ = net::NetFeatures::from_bits(queues.features);
  bool event_idx = (queues.features & virtio::bit(virtio::kFRingEventIdx));
  bool indirect = (queues.features & virtio::bit(virtio::kFRingIndirectDesc));
  rx_.configure(queues.memory, *rx, event_idx, indirect, queues.rx_next_avail);
  tx_.configure(queues.memory, *tx, event_idx, indirect, queues.tx_next_avail);
  // Virtqueue numbers as the guest's driver has them.
  rx_.set_label(queues.nic + " queue 0 (rx)");
  tx_.set_label(queues.nic + " queue 1 (tx)");
  rx_.set_call_fd(queues.rx.call_fd);
  tx_.set_call_fd(queues.tx.call_fd);
  rx_.clear_broken();
  tx_.clear_broken();
  rx_.set_live(true);
  tx_.set_live(true);
  stop_.drain();
  transmit_stopped_.store(false, std::memory_order_relaxed);
  thread_ = std::thread([this] { serve(); });
  return {};
}

Result<QueuePositions> TapNetBackend::stop() {
  if (!running()) return QueuePositions{rx_.last_avail_idx(), tx_.last_avail_idx()};
  transmit_stopped_.store(true, std::memory_order_relaxed);
  if (!drain_until_quiet([this] { return rx_frames_.load(std::memory_order_relaxed); })) {
    log_line(LogLevel::warn, "TAP backend: frames still arriving after " +
                                 std::to_string(kDrainLimit.count()) +
                                 " ms of drain; stopping the receive queue anyway");
  }
  (void)stop_.signal();
  thread_.join();
  rx_.set_live(false);
  tx_.set_live(false);
  return QueuePositions{rx_.last_avail_idx(), tx_.last_avail_idx()};
}

NetBackendCounters TapNetBackend::counters() const {
  NetBackendCounters c;
  c.tx_frames = tx_frames_.load(std::memory_order_relaxed);
  c.rx_frames = rx_frames_.load(std::memory_order_relaxed);
  c.tx_bytes = tx_bytes_.load(std::memory_order_relaxed);
  c.rx_bytes = rx_bytes_.load(std::memory_order_relaxed);
  c.drops = drops_.load(std::memory_order_relaxed);
  c.kicks = kicks_.load(std::memory_order_relaxed);
  c.wakeups = wakeups_.load(std::memory_order_relaxed);
  // Queue statistics survive reconfiguration: they count since the backend was made.
  c.interrupts = rx_.stats().notifications.get() + tx_.stats().notifications.get();
  return c;
}

uint16_t TapNetBackend::transmit_burst() {
  if (!tx_.serving() || transmit_stopped_.load(std::memory_order_relaxed)) return 0;
  batch_.clear();
  uint16_t n = net::dequeue_burst(tx_, features_, batch_);
  for (uint16_t i = 0; i < n; ++i) {
    const net::PacketView& p = batch_.packets[i];
    iovec iov[net::kMaxPacketSpans];
    const virtio::HostSpan* spans = batch_.spans_of(p);
    for (uint16_t s = 0; s < p.span_count; ++s) iov[s] = {spans[s].data, spans[s].len};
    // A TAP write takes the frame whole or not at all; a full queue in the host is a drop there,
    // as on a wire.
    if (writev(tap_.fd(), iov, p.span_count) < 0) {
      drops_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    tx_frames_.fetch_add(1, std::memory_order_relaxed);
    tx_bytes_.fetch_add(p.len, std::memory_order_relaxed);
  }
  if (batch_.source_head_count != 0) net::complete_burst(tx_, batch_);
  return n;
}

uint16_t TapNetBackend::receive_burst() {
  if (!rx_.serving()) return 0;
  // Read no more frames than the guest has buffers for: the rest wait in the TAP queue instead of
  // being read and dropped here.
  uint16_t room = std::min<uint16_t>(rx_.avail_count(), net::kBurstSize);
  batch_.clear();
  uint16_t which[net::kBurstSize];
  uint16_t n = 0;
  while (n < room) {
    ssize_t len = read(tap_.fd(), frames_[n].data(), kFrameMax);
    if (len <= 0) break;
    net::PacketView& p = batch_.packets[n];
    p = {};
    p.first_span = n;
    p.span_count = 1;
    p.len = static_cast<uint32_t>(len);
    batch_.spans[n] = {frames_[n].data(), static_cast<uint64_t>(len)};
    which[n] = n;
    ++n;
  }
  if (n == 0) return 0;
  batch_.count = n;
  batch_.spans_used = n;
  uint16_t delivered = net::enqueue_burst(rx_, features_, batch_, {which, n});
  rx_frames_.fetch_add(delivered, std::memory_order_relaxed);
  for (uint16_t i = 0; i < delivered; ++i) {
    rx_bytes_.fetch_add(batch_.packets[i].len, std::memory_order_relaxed);
  }
  drops_.fetch_add(n - delivered, std::memory_order_relaxed);
  return n;
}

void TapNetBackend::serve() {
  Result<Epoll> epoll = Epoll::create();
  if (!epoll.ok() || !epoll->add(queues_.tx.kick_fd, EPOLLIN, kTxKick).ok() ||
      !epoll->add(queues_.rx.kick_fd, EPOLLIN, kRxKick).ok() ||
      !epoll->add(tap_.fd(), EPOLLIN, kTapReadable).ok() ||
      !epoll->add(stop_.fd(), EPOLLIN, kStop).ok()) {
    log_line(LogLevel::error, "TAP backend: cannot set up epoll; queues not served");
    return;
  }
  bool tap_watched = true;
  for (;;) {
    uint16_t moved = transmit_burst();
    moved += receive_burst();
    if (moved != 0) continue;
    // Idle: ask for doorbells, then re-check, so a buffer added in between is not missed.
    bool tx_pending =
        tx_.serving() && !transmit_stopped_.load(std::memory_order_relaxed) && tx_.enable_kicks();
    bool rx_room = rx_.serving() && rx_.enable_kicks();
    if (tx_pending) {
      tx_.disable_kicks();
      rx_.disable_kicks();
      continue;
    }
    // TAP readiness matters only while the guest has buffers; otherwise its doorbell does.
    if (rx_room != tap_watched) {
      (void)epoll->modify(tap_.fd(), rx_room ? uint32_t{EPOLLIN} : 0U, kTapReadable);
      tap_watched = rx_room;
    }
    epoll_event events[4];
    Result<int> n = epoll->wait(events, -1);
    wakeups_.fetch_add(1, std::memory_order_relaxed);
    tx_.disable_kicks();
    rx_.disable_kicks();
    if (!n.ok()) continue;
    for (int i = 0; i < *n; ++i) {
      switch (events[i].data.u64) {
        case kStop:
          return;
        case kTxKick:
          kicks_.fetch_add(drain_event_fd(queues_.tx.kick_fd), std::memory_order_relaxed);
          break;
        case kRxKick:
          kicks_.fetch_add(drain_event_fd(queues_.rx.kick_fd), std::memory_order_relaxed);
          break;
        default:
          break;
      }
    }
  }
}

}  // namespace ringlane::vmm
