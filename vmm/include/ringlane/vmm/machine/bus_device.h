// BusDevice: what answers the accesses to a range registered on an IoBus (io_bus.h). The bus
// hands over where the range starts and how far into it the access begins; the device says
// whether it answers. A device that does not (a width its registers do not have, a read of a
// write-only port, an access running past the end of a BAR) leaves the access to the bus's
// caller, which treats it as one that hit nothing.
#pragma once

#include <cstdint>
#include <span>

namespace ringlane::vmm {

class BusDevice {
 public:
  virtual ~BusDevice() = default;
  // `base` is the start of the range this access falls in: a device registered on several
  // ranges tells them apart by it. `offset` is the first byte's distance from `base`.
  virtual bool read(uint64_t base, uint64_t offset, std::span<uint8_t> data) = 0;
  virtual bool write(uint64_t base, uint64_t offset, std::span<const uint8_t> data) = 0;
};

}  // namespace ringlane::vmm
