// E1000Transmit: the 82540EM's transmit descriptor engine. It takes descriptors one at a time in
// ring order, gathers the frame they describe (legacy, or extended data descriptors after a
// context descriptor), and at end of packet applies the offloads the driver asked for (checksum
// insertion, TCP segmentation, VLAN tag insertion) and hands each resulting frame to a sink.
// Descriptors it cannot honour are counted and their frame dropped, as a real NIC would.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "ringlane/virtio/guest_memory.h"

namespace ringlane::vmm {

struct E1000TxCounters {
  uint64_t frames = 0;
  uint64_t bytes = 0;
  uint64_t bad_dma = 0;      // buffer addresses outside guest RAM
  uint64_t oversized = 0;    // a packet larger than the model gathers (64 KiB plus headers)
  uint64_t bad_offload = 0;  // TSO of something not TCP, or offsets outside the frame
};

class E1000Transmit {
 public:
  using Sink = std::function<void(std::span<const uint8_t>)>;
  // The largest packet a driver may describe: a 64 KiB TSO payload and its headers.
  static constexpr uint32_t kMaxPacket = 65536 + 256;

  explicit E1000Transmit(Sink sink);
  // Consumes one 16-byte descriptor. `vlan_ethertype` is VET when VLAN insertion is enabled
  // (CTRL.VME), 0 otherwise. Returns the descriptor's command bits.
  uint32_t take(std::span<const uint8_t, 16> descriptor, const virtio::GuestMemory& memory,
                uint16_t vlan_ethertype);
  // Forgets a packet in progress (device reset or transmitter disabled).
  void reset();
  const E1000TxCounters& counters() const { return counters_; }

 private:
  // What a context descriptor sets up for the data descriptors that follow.
  struct Context {
    uint8_t ipcss = 0, ipcso = 0;
    uint16_t ipcse = 0;
    uint8_t tucss = 0, tucso = 0;
    uint16_t tucse = 0;
    uint32_t paylen = 0;
    uint16_t mss = 0;
    uint8_t hdrlen = 0;
    bool tcp = false;
  };
  void gather(uint64_t address, uint32_t length, const virtio::GuestMemory& memory);
  void finish_packet();
  // Inserts a checksum over [start, end] (end 0: to the end of the frame) at `offset`.
  bool insert_checksum(std::span<uint8_t> frame, uint32_t start, uint32_t offset, uint32_t end,
                       bool udp_style);
  void emit(std::span<uint8_t> frame);

  Sink sink_;
  Context context_;
  std::vector<uint8_t> packet_;
  uint32_t size_ = 0;
  bool drop_ = false;     // the packet in progress is lost (counted when found)
  bool first_ = true;     // the next descriptor starts a packet
  uint32_t options_ = 0;  // POPTS of the packet's first data descriptor
  bool tse_ = false;
  bool legacy_checksum_ = false;
  uint8_t legacy_cso_ = 0, legacy_css_ = 0;
  bool vlan_ = false;
  uint16_t vlan_ethertype_ = 0;
  uint16_t vlan_tag_ = 0;
  std::vector<uint8_t> scratch_;  // one segment at a time, for TSO and VLAN insertion
  E1000TxCounters counters_;
};

}  // namespace ringlane::vmm
