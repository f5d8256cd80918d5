#include "ringlane/vmm/serial_port.h"

#include <unistd.h>

namespace ringlane::vmm {

namespace {

constexpr uint8_t kLcrDlab = 0x80;  // divisor latch access: offsets 0 and 1 are the divisor
constexpr uint8_t kLsrThrEmpty = 0x20;
constexpr uint8_t kLsrTxIdle = 0x40;
constexpr uint8_t kIirNoInterrupt = 0x01;
constexpr uint8_t kMsrConnected = 0xb0;  // DCD, DSR, CTS

}  // namespace

void SerialPort::write(uint16_t offset, uint8_t value) {
  bool dlab = (lcr_ & kLcrDlab) != 0;
  switch (offset) {
    case 0:
      if (dlab) {
        divisor_low_ = value;
      } else {
        // The console is best effort: a full pipe or closed file must not stop the guest.
        (void)!::write(out_fd_, &value, 1);
        ++bytes_written_;
      }
      break;
    case 1:
      if (dlab) {
        divisor_high_ = value;
      } else {
        ier_ = value & 0x0f;
      }
      break;
    case 3:
      lcr_ = value;
      break;
    case 4:
      mcr_ = value & 0x1f;
      break;
    case 7:
      scratch_ = value;
      break;
    default:
      break;  // FCR and read-only registers
  }
}

uint8_t SerialPort::read(uint16_t offset) {
  bool dlab = (lcr_ & kLcrDlab) != 0;
  switch (offset) {
    case 0:
      return dlab ? divisor_low_ : 0;
    case 1:
      return dlab ? divisor_high_ : ier_;
    case 2:
      return kIirNoInterrupt;
    case 3:
      return lcr_;
    case 4:
      return mcr_;
    case 5:
      return kLsrThrEmpty | kLsrTxIdle;
    case 6:
      return kMsrConnected;
    case 7:
      return scratch_;
    default:
      return 0xff;
  }
}

}  // namespace ringlane::vmm
