#include "ringlane/vmm/pci/msix_table.h"

#include <cstring>

#include "ringlane/base/log.h"
#include "ringlane/vmm/pci/pci_spec.h"

namespace ringlane::vmm {

namespace {}  // namespace

static_assert(MsixTable::kEntrySize == 4 * sizeof(uint32_t));

void MsixTable::Entry::to_bytes(uint8_t* out) const {
  const uint32_t words[4] = {address_lo, address_hi, data, control};
  std::memcpy(out, words, sizeof(words));
}

void MsixTable::Entry::assign_bytes(const uint8_t* in) {
  uint32_t words[4];
  std::memcpy(words, in, sizeof(words));
  address_lo = words[0];
  address_hi = words[1];
  data = words[2];
  control = words[3];
}

Result<MsixTable> MsixTable::create(uint16_t vectors, GsiRouting& routing,
                                    std::function<void()> on_change) {
  std::vector<Entry> entries(vectors);
  for (Entry& e : entries) {
    Result<uint32_t> gsi = routing.allocate();
    if (!gsi.ok()) return gsi.error();
    e.gsi = *gsi;
  }
  return MsixTable(std::move(entries), routing, std::move(on_change));
}

bool MsixTable::active(uint16_t vector) const {
  return vector < entries_.size() && enabled_ && !function_masked_ &&
         (entries_[vector].control & 1) == 0;
}

std::vector<uint8_t> MsixTable::capability(int bar, uint32_t table_offset,
                                           uint32_t pba_offset) const {
  auto size = static_cast<uint16_t>(entries_.size() - 1);
  uint32_t table = table_offset | static_cast<uint32_t>(bar);
  uint32_t pba = pba_offset | static_cast<uint32_t>(bar);
  std::vector<uint8_t> body(12);
  body[0] = pci::kCapabilityIdMsix;
  std::memcpy(&body[2], &size, 2);
  std::memcpy(&body[4], &table, 4);
  std::memcpy(&body[8], &pba, 4);
  return body;
}

std::vector<uint8_t> MsixTable::capability_writable() {
  // Only the enable and function mask bits of message control.
  return {0, 0, 0, 0xc0};
}

void MsixTable::set_control(uint16_t control) {
  enabled_ = (control & pci::kMsixControlEnable) != 0;
  function_masked_ = (control & pci::kMsixControlFunctionMask) != 0;
  on_change_();
}

void MsixTable::table_read(uint64_t offset, std::span<uint8_t> data) const {
  uint8_t bytes[kEntrySize];
  uint64_t index = offset / kEntrySize;
  uint64_t within = offset % kEntrySize;
  if (index >= entries_.size() || within + data.size() > kEntrySize) {
    std::memset(data.data(), 0xff, data.size());
    return;
  }
  entries_[index].to_bytes(bytes);
  std::memcpy(data.data(), bytes + within, data.size());
}

void MsixTable::table_write(uint64_t offset, std::span<const uint8_t> data) {
  uint64_t index = offset / kEntrySize;
  uint64_t within = offset % kEntrySize;
  if (index >= entries_.size() || within + data.size() > kEntrySize) return;
  Entry& e = entries_[index];
  uint8_t bytes[kEntrySize];
  e.to_bytes(bytes);
  std::memcpy(bytes + within, data.data(), data.size());
  Entry updated = e;
  updated.assign_bytes(bytes);
  updated.control &= 1;  // only the mask bit is defined
  bool route_changed = updated.address_lo != e.address_lo || updated.address_hi != e.address_hi ||
                       updated.data != e.data;
  bool mask_changed = updated.control != e.control;
  e = updated;
  if (route_changed) {
    Status s = routing_->set_msi(e.gsi, (uint64_t{e.address_hi} << 32) | e.address_lo, e.data);
    if (!s.ok()) log_line_limited(LogLevel::warn, "MSI-X route: " + s.error().to_string());
  }
  if (route_changed || mask_changed) on_change_();
}

void MsixTable::pba_read(uint64_t offset, std::span<uint8_t> data) const {
  // Pending interrupts stay in their eventfds while a vector is masked (the irqfd is detached)
  // and are delivered when it is attached again; the PBA itself reads as nothing pending.
  (void)offset;
  std::memset(data.data(), 0, data.size());
}

}  // namespace ringlane::vmm
