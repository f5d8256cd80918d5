// SerialPort: enough of a 16550A UART at 0x3f8 for a console: transmitted bytes go to an fd
// (stdout or a file), the line status always says "ready", nothing is ever received yet.
#pragma once

#include <cstdint>

namespace ringlane::vmm {

class SerialPort {
 public:
  static constexpr uint16_t kBase = 0x3f8;
  static constexpr uint16_t kPorts = 8;

  explicit SerialPort(int out_fd) : out_fd_(out_fd) {}

  // `offset` is the register (0-7) relative to the base port.
  void write(uint16_t offset, uint8_t value);
  uint8_t read(uint16_t offset);
  uint64_t bytes_written() const { return bytes_written_; }

 private:
  int out_fd_;
  uint8_t ier_ = 0;
  uint8_t lcr_ = 0;
  uint8_t mcr_ = 0;
  uint8_t scratch_ = 0;
  uint8_t divisor_low_ = 1;
  uint8_t divisor_high_ = 0;
  uint64_t bytes_written_ = 0;
};

}  // namespace ringlane::vmm
