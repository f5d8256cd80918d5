// AfXdpPort: a host interface as a switch port (kind=afxdp), through one AF_XDP socket per
// receive queue and ringlane's own XDP program, which steers to the sockets only the frames meant
// for ringlane (the addresses the switch learned behind its other ports, or in cross-connect mode
// every unicast frame not for the host) and copies multicast and broadcast frames to ringlane
// while the kernel gets them too. The host keeps its own traffic on the same interface.
//
// Receive: frames come as spans into the socket's UMEM (no copy; head = the frame's slot), and on
// queue pair 0 the multicast copies as spans into the XDP program's ring buffer; release gives
// both back. Transmit copies each packet once into a free transmit frame (segmenting and
// finishing checksums for packets that ask for offloads). No system call per packet: the socket
// is kicked once per burst, and only when the kernel says it waits for one (need_wakeup).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "ringlane/base/counter.h"
#include "ringlane/base/log_limit.h"
#include "ringlane/base/result.h"
#include "ringlane/dataplane/port.h"
#include "ringlane/uplink/bpf_ring_reader.h"
#include "ringlane/uplink/net_interface.h"
#include "ringlane/uplink/steering_key.h"
#include "ringlane/uplink/xdp_steering.h"
#include "ringlane/uplink/xsk_queue.h"

namespace ringlane::dataplane {

struct AfXdpPortConfig {
  std::string name;
  std::string ifname;
  uint16_t queues = 1;
  uplink::XdpMode xdp = uplink::XdpMode::automatic;
  uplink::ZeroCopyMode zerocopy = uplink::ZeroCopyMode::automatic;
  net::PortVlans vlans;
  // The switch learns addresses (l2): steer only those. Otherwise every unicast frame.
  bool learns_addresses = true;
  uint16_t port_index = 0;  // this port's index in the switch
};

class AfXdpPort final : public Port {
 public:
  // Checks the host (interface exists, is up, has the queues; permissions; AF_XDP), attaches the
  // XDP program and opens the sockets. Every refusal says what to mend.
  static Result<std::unique_ptr<AfXdpPort>> open(const AfXdpPortConfig& config);
  // Detaches the XDP program (the host gets every frame again), then closes the sockets.
  ~AfXdpPort() override;
  AfXdpPort(const AfXdpPort&) = delete;
  AfXdpPort& operator=(const AfXdpPort&) = delete;

  const std::string& name() const override { return config_.name; }
  uint16_t queue_pairs() const override { return config_.queues; }
  uint16_t receive(uint16_t qp, net::PacketBatch& batch) override;
  void release(uint16_t qp, const net::PacketBatch& batch) override;
  uint16_t transmit(uint16_t qp, const net::PacketBatch& batch,
                    std::span<const uint16_t> which) override;
  int transmit_queue_for(unsigned worker) const override {
    return static_cast<int>(worker % config_.queues);
  }
  std::vector<PortQueueStats> queue_stats() const override;
  bool connected() const override { return link_up_.load(std::memory_order_relaxed); }
  const char* kind() const override { return "afxdp"; }
  std::vector<std::pair<std::string, uint64_t>> counters() const override;
  void tick(std::chrono::steady_clock::time_point now) override;
  bool wants_addresses() const override { return config_.learns_addresses; }
  void address_learned(uint64_t mac, uint16_t vlan, uint16_t port) override;
  void address_forgotten(uint64_t mac, uint16_t vlan) override;
  void set_shared_transmit(bool shared) override { shared_transmit_ = shared; }

  // For the start-up line: how the program is attached, the sockets' mode.
  std::string description() const;
  size_t steered_addresses() const { return steered_.size(); }

  // The head a multicast copy carries in a batch (UMEM frames use their slot number).
  static constexpr uint16_t kCopyHead = 0xffff;

 private:
  struct alignas(64) ReceiveCounters {
    Counter packets, bytes, runt, oversized, copies, wakeups;
  };
  struct alignas(64) TransmitCounters {
    Counter packets, bytes, no_frames, too_large, malformed, kicks, bad_completions;
  };
  struct Queue {
    std::unique_ptr<uplink::XskQueue> xsk;
    ReceiveCounters rx;
    TransmitCounters tx;
    alignas(64) std::atomic<bool> transmit_busy{false};
    Counter tick_kicks;  // the control thread's, for frames the kernel left queued
  };
  class TransmitSink;

  explicit AfXdpPort(AfXdpPortConfig config) : config_(std::move(config)) {}
  uint16_t transmit_locked(Queue& q, const net::PacketBatch& batch,
                           std::span<const uint16_t> which);
  void reclaim_completions(Queue& q);
  void give_back(Queue& q, const uint16_t* heads, uint32_t n);
  static uint64_t address_key(uint64_t mac, uint16_t wire_vlan) {
    return uint64_t{wire_vlan} << 48 | mac;
  }
  void steer(uint64_t key, bool on);

  AfXdpPortConfig config_;
  uplink::InterfaceInfo interface_;
  uint32_t max_rx_frame_ = 0;  // longer frames from the wire are counted and dropped
  uint32_t max_tx_frame_ = 0;  // longer packets (without segmentation) are not sent
  // Destroyed in reverse order: the program goes first (the host gets every frame again), then
  // the ring buffer mapping, then the sockets.
  std::vector<std::unique_ptr<Queue>> queues_;
  std::optional<uplink::BpfRingReader> copies_;
  std::unique_ptr<uplink::XdpSteering> steering_;
  bool shared_transmit_ = false;
  std::atomic<bool> link_up_{true};
  std::chrono::steady_clock::time_point next_link_check_{};
  std::unordered_set<uint64_t> steered_;  // address_key of each address in the program's map
  LogLimit log_limit_;
};

}  // namespace ringlane::dataplane
