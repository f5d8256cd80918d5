// TapPort: a kernel TAP interface as a switch port (--port kind=tap,ifname=NAME), which puts the
// host's own network stack on the switch. The device carries a virtio-net header
// (IFF_VNET_HDR) with checksum and TSO offloads both ways, so partial checksums and 64 KiB GSO
// frames pass between the host stack and the guests without software work: the header of a
// frame from the TAP becomes the packet's `hdr` (the vhost ports finish it for guests that did not
// negotiate offloads), and a packet's `hdr` is written in front of it towards the TAP.
//
// One queue pair. Frames are read, one read() each, into a burst of slots big enough for a GSO
// frame; a packet's `head` is its slot, given back by release(). Frames to the TAP go out with one
// writev() each straight from the source's buffers (the kernel's copy is the one copy). Both
// directions are non-blocking: a full TAP queue drops and counts, it never waits.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "ringlane/base/counter.h"
#include "ringlane/dataplane/port.h"
#include "ringlane/uplink/tap_device.h"

namespace ringlane::dataplane {

class TapPort final : public Port {
 public:
  // A slot holds the header and the largest frame the kernel hands over: a 64 KiB GSO frame with
  // its Ethernet and VLAN headers. A read longer than this was truncated and is dropped.
  static constexpr uint32_t kSlotBytes = 65536 + 512;

  TapPort(std::string name, uplink::TapDevice device);

  const std::string& name() const override { return name_; }
  uint16_t queue_pairs() const override { return 1; }
  uint16_t receive(uint16_t qp, net::PacketBatch& batch) override;
  void release(uint16_t qp, const net::PacketBatch& batch) override;
  uint16_t transmit(uint16_t qp, const net::PacketBatch& batch,
                    std::span<const uint16_t> which) override;
  int transmit_queue_for(unsigned /*worker*/) const override { return 0; }
  std::vector<PortQueueStats> queue_stats() const override;
  bool connected() const override { return true; }
  const char* kind() const override { return "tap"; }
  std::vector<std::pair<std::string, uint64_t>> counters() const override;
  void set_shared_transmit(bool shared) override { shared_transmit_ = shared; }
  // The TAP's fd is readable while a frame waits: a sleeping worker waits on it as it is.
  Wakeup arm_wakeup(uint16_t /*qp*/) override { return {device_.fd(), false}; }

  const uplink::TapDevice& device() const { return device_; }

 private:
  struct Slot {
    alignas(64) uint8_t bytes[kSlotBytes];
  };
  // What a read gave: a frame, a frame refused (counted), or nothing more to read.
  enum class ReadResult { frame, refused, empty };

  ReadResult read_frame(uint16_t slot, net::PacketBatch& batch);
  bool header_valid(const virtio::NetHeader& hdr, uint32_t len) const;
  uint16_t transmit_burst(const net::PacketBatch& batch, std::span<const uint16_t> which);
  bool write_frame(const net::PacketBatch& batch, const net::PacketView& p);

  std::string name_;
  uplink::TapDevice device_;
  uint32_t header_bytes_;  // 12 with the virtio-net header, 0 without (unit tests)
  std::unique_ptr<Slot[]> slots_;
  uint16_t free_slots_[net::kBurstSize];
  uint16_t free_count_ = net::kBurstSize;
  bool shared_transmit_ = false;
  std::atomic<bool> transmit_busy_{false};

  // Receive side (the one worker polling the port).
  Counter rx_packets_, rx_bytes_;
  Counter rx_runt_, rx_oversized_, rx_bad_header_, rx_read_errors_;
  // Transmit side (serialised when shared).
  Counter tx_packets_, tx_bytes_;
  Counter tx_full_;        // EAGAIN: the TAP's queue is full
  Counter tx_link_down_;   // EIO: the interface is down
  Counter tx_refused_;     // the kernel refused the frame or its header (EINVAL and others)
  Counter tx_no_offload_;  // an offload request and no virtio-net header to carry it
};

}  // namespace ringlane::dataplane
