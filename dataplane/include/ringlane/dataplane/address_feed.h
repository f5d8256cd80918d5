// AddressFeed: tells the ports that want it (AF_XDP uplinks, whose XDP program steers to ringlane
// only frames for stations behind the switch) which addresses the switch learned and which aged
// out. The control thread compares the MAC table with what it told them last time, every tick:
// workers learn without a system call or a queue, and an address is steered within one tick.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "ringlane/dataplane/mac_table.h"
#include "ringlane/dataplane/port.h"

namespace ringlane::dataplane {

class AddressFeed {
 public:
  // Reads the table at TSC time `now` and calls address_learned / address_forgotten on each
  // port in `ports` that wants_addresses() for what changed since the last call.
  void update(const MacTable& table, uint64_t now, const std::vector<Port*>& ports);
  // Tells a port that joined (and wants addresses) every address told to the others so far.
  void welcome(Port& port) const;
  size_t size() const { return told_.size(); }

 private:
  // (vlan << 48 | mac) -> port index, as last told.
  std::unordered_map<uint64_t, uint16_t> told_;
  std::unordered_map<uint64_t, uint16_t> current_;  // reused between calls
};

}  // namespace ringlane::dataplane
