// IoBus: one address space a vCPU exit lands in (port I/O, or MMIO outside RAM) and the ranges
// devices decode in it, each registered with the BusDevice that answers it. The machine has two,
// one per space. Ranges never overlap: a registration that would is refused, so which device
// answers an address never depends on the order things were registered in. An access goes to the
// range that holds its first byte; whether an access running past that range's end is answered
// is the device's call. Where no range is, nothing answers, and the caller does what an empty bus
// does (counts the access, reads all ones).
//
// The ranges are kept sorted by base and looked up by binary search. Room for `capacity` of them
// is reserved when the bus is made and it never grows, so neither an access nor a registration
// made on a vCPU thread (the guest moving a BAR) allocates. Not thread-safe: the machine makes
// one access or change at a time.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ringlane/base/result.h"
#include "ringlane/vmm/machine/bus_device.h"

namespace ringlane::vmm {

class IoBus {
 public:
  struct Range {
    uint64_t base;
    uint64_t size;
    BusDevice* device;
  };

  // `name` is the space, for error messages ("port I/O", "MMIO").
  IoBus(std::string name, size_t capacity);

  // Registers [base, base + size) for `device`. Refused with EEXIST when it overlaps a registered
  // range (the message names both), EINVAL when empty or past the end of the space, ENOSPC when
  // `capacity` ranges are registered already.
  Status insert(uint64_t base, uint64_t size, BusDevice& device);
  // Unregisters the range starting at `base`; ENOENT when none does.
  Status remove(uint64_t base);

  // The range holding `address`, or null.
  const Range* find(uint64_t address) const {
    // The last range starting at or below `address` is the only one that can hold it.
    auto after = std::upper_bound(ranges_.begin(), ranges_.end(), address,
                                  [](uint64_t a, const Range& r) { return a < r.base; });
    if (after == ranges_.begin()) return nullptr;
    const Range& r = *(after - 1);
    return address - r.base < r.size ? &r : nullptr;
  }
  // An access at `address`, given to the device whose range holds it; false when nothing
  // answers it (no range there, or its device declined).
  bool read(uint64_t address, std::span<uint8_t> data) const {
    const Range* r = find(address);
    return r != nullptr && r->device->read(r->base, address - r->base, data);
  }
  bool write(uint64_t address, std::span<const uint8_t> data) const {
    const Range* r = find(address);
    return r != nullptr && r->device->write(r->base, address - r->base, data);
  }

  size_t size() const { return ranges_.size(); }

 private:
  std::string name_;
  size_t capacity_;
  std::vector<Range> ranges_;  // sorted by base, disjoint
};

}  // namespace ringlane::vmm
