// BytePorts: a legacy device whose registers are single bytes (the serial port, the i8042, the
// CMOS clock, the POST port), as a BusDevice on the port I/O bus. The device models know nothing
// of the bus; this gives them each access as (port, byte). Accesses of another width are not
// answered (so read all ones and count as unhandled, as they always have here); a device without
// a read function (the POST port) answers writes only.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <utility>

#include "ringlane/vmm/machine/bus_device.h"

namespace ringlane::vmm {

class BytePorts final : public BusDevice {
 public:
  using Read = std::function<uint8_t(uint16_t port)>;
  using Write = std::function<void(uint16_t port, uint8_t value)>;

  BytePorts(Read read, Write write) : read_(std::move(read)), write_(std::move(write)) {}

  bool read(uint64_t base, uint64_t offset, std::span<uint8_t> data) override {
    if (data.size() != 1 || !read_) return false;
    data[0] = read_(static_cast<uint16_t>(base + offset));
    return true;
  }
  bool write(uint64_t base, uint64_t offset, std::span<const uint8_t> data) override {
    if (data.size() != 1 || !write_) return false;
    write_(static_cast<uint16_t>(base + offset), data[0]);
    return true;
  }

 private:
  Read read_;
  Write write_;
};

}  // namespace ringlane::vmm
