// MsixTable: an MSI-X capability and its vector table and pending-bit array, living in a BAR.
// Each vector owns a GSI whose MSI route follows what the guest writes into the table; a vector
// is "active" (its irqfds should be attached) while MSI-X is enabled and neither the function nor
// the vector is masked. Whoever signals vectors asks active() and listens to changes.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "ringlane/base/result.h"
#include "ringlane/vmm/kvm/gsi_routing.h"

namespace ringlane::vmm {

class MsixTable {
 public:
  static constexpr uint64_t kEntrySize = 16;

  // `on_change` runs (on the vCPU thread) after a vector's activity or route changed.
  static Result<MsixTable> create(uint16_t vectors, GsiRouting& routing,
                                  std::function<void()> on_change);

  uint16_t vectors() const { return static_cast<uint16_t>(entries_.size()); }
  bool active(uint16_t vector) const;
  uint32_t gsi(uint16_t vector) const { return entries_[vector].gsi; }
  bool enabled() const { return enabled_; }

  // The capability's body for PciConfigSpace::add_capability: table at `table_offset` and PBA at
  // `pba_offset`, both in BAR `bar`; and which of its bytes the guest may write.
  std::vector<uint8_t> capability(int bar, uint32_t table_offset, uint32_t pba_offset) const;
  static std::vector<uint8_t> capability_writable();
  // The message control word changed (enable and function mask bits).
  void set_control(uint16_t control);

  // Accesses to the table region (offsets from its start) and to the PBA.
  void table_read(uint64_t offset, std::span<uint8_t> data) const;
  void table_write(uint64_t offset, std::span<const uint8_t> data);
  void pba_read(uint64_t offset, std::span<uint8_t> data) const;
  uint64_t table_bytes() const { return entries_.size() * kEntrySize; }

 private:
  struct Entry {
    uint32_t address_lo = 0;
    uint32_t address_hi = 0;
    uint32_t data = 0;
    uint32_t control = 1;  // masked at reset
    uint32_t gsi = 0;
    // As the guest sees an entry: its first four words, little-endian (the gsi is ours).
    void to_bytes(uint8_t* out) const;
    void assign_bytes(const uint8_t* in);
  };
  MsixTable(std::vector<Entry> entries, GsiRouting& routing, std::function<void()> on_change)
      : entries_(std::move(entries)), routing_(&routing), on_change_(std::move(on_change)) {}

  std::vector<Entry> entries_;
  GsiRouting* routing_;
  std::function<void()> on_change_;
  bool enabled_ = false;
  bool function_masked_ = false;
};

}  // namespace ringlane::vmm
