// OutputLists: the packets of one L2 burst, sorted by destination port. A worker owns one and
// reuses it for every burst: sized by the switch's port count rather than a fixed table on the
// stack, so no port is out of reach, and sending costs only the ports that got packets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "ringlane/net/packet_batch.h"

namespace ringlane::dataplane {

class OutputLists {
 public:
  size_t port_capacity() const { return capacity_; }
  // Makes room for ports [0, ports), with slack for ports added later. Allocates, so the caller
  // does it only when a view has more ports than this holds; the lists must be empty.
  void grow(size_t ports);

  // Appends packet `packet` of the burst to the list of `port` (below port_capacity()).
  void add(uint16_t port, uint16_t packet) {
    uint8_t& count = counts_[port];
    if (count == 0) touched_[touched_count_++] = port;
    lists_[size_t{port} * net::kBurstSize + count] = packet;
    ++count;
  }
  // The ports with a non-empty list, in the order they got their first packet.
  std::span<const uint16_t> ports() const { return {touched_.get(), touched_count_}; }
  // The packets for `port`, in the order they were added.
  std::span<const uint16_t> packets_for(uint16_t port) const {
    return {&lists_[size_t{port} * net::kBurstSize], counts_[port]};
  }
  // Empties the lists for the next burst.
  void clear() {
    for (size_t i = 0; i < touched_count_; ++i) counts_[touched_[i]] = 0;
    touched_count_ = 0;
  }

 private:
  std::unique_ptr<uint16_t[]> lists_;    // kBurstSize packet indices per port
  std::unique_ptr<uint8_t[]> counts_;    // per port; a burst holds at most kBurstSize
  std::unique_ptr<uint16_t[]> touched_;  // ports with a non-empty list
  size_t touched_count_ = 0;
  size_t capacity_ = 0;
};

}  // namespace ringlane::dataplane
