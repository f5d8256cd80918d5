#include "ringlane/dataplane/address_feed.h"

#include <algorithm>

namespace ringlane::dataplane {

void AddressFeed::update(const MacTable& table, uint64_t now, const std::vector<Port*>& ports) {
  std::vector<Port*> listeners;
  for (Port* p : ports) {
    if (p != nullptr && p->wants_addresses()) listeners.push_back(p);
  }
  if (listeners.empty()) return;
  current_.clear();
  table.for_each(now, [&](uint64_t mac, uint16_t vlan, uint16_t port, uint64_t /*age*/) {
    current_[uint64_t{vlan} << 48 | mac] = port;
  });
  for (const auto& [key, port] : current_) {
    auto told = told_.find(key);
    if (told != told_.end() && told->second == port) continue;
    for (Port* p : listeners) p->address_learned(key & 0xffffffffffff, key >> 48, port);
  }
  for (const auto& [key, port] : told_) {
    if (current_.count(key)) continue;
    for (Port* p : listeners) p->address_forgotten(key & 0xffffffffffff, key >> 48);
  }
  std::swap(told_, current_);
}

void AddressFeed::welcome(Port& port) const {
  for (const auto& [key, index] : told_)
    port.address_learned(key & 0xffffffffffff, key >> 48, index);
}

}  // namespace ringlane::dataplane
