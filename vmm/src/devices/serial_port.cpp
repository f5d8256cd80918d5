#include "ringlane/vmm/devices/serial_port.h"

#include <unistd.h>

#include <algorithm>

namespace ringlane::vmm {

namespace {

// Registers (offsets from the base port).
constexpr uint16_t kData = 0;  // RBR on read, THR on write; divisor low with DLAB
constexpr uint16_t kIer = 1;   // divisor high with DLAB
constexpr uint16_t kIirFcr = 2;
constexpr uint16_t kLcr = 3;
constexpr uint16_t kMcr = 4;
constexpr uint16_t kLsr = 5;
constexpr uint16_t kMsr = 6;
constexpr uint16_t kScratch = 7;

constexpr uint8_t kLcrDlab = 0x80;  // divisor latch access: offsets 0 and 1 are the divisor
constexpr uint8_t kIerRxData = 0x01;
constexpr uint8_t kIerThrEmpty = 0x02;
constexpr uint8_t kIirNoInterrupt = 0x01;
constexpr uint8_t kIirThrEmpty = 0x02;
constexpr uint8_t kIirRxData = 0x04;
constexpr uint8_t kIirFifoEnabled = 0xc0;
constexpr uint8_t kFcrEnable = 0x01;
constexpr uint8_t kFcrClearRx = 0x02;
constexpr uint8_t kLsrDataReady = 0x01;
constexpr uint8_t kLsrThrEmpty = 0x20;
constexpr uint8_t kLsrTxIdle = 0x40;
constexpr uint8_t kMcrLoop = 0x10;
constexpr uint8_t kMsrConnected = 0xb0;  // DCD, DSR, CTS

}  // namespace

uint8_t SerialPort::pending_interrupt() const {
  if ((ier_ & kIerRxData) != 0 && !rx_.empty()) return kIirRxData;
  if ((ier_ & kIerThrEmpty) != 0 && thr_interrupt_) return kIirThrEmpty;
  return kIirNoInterrupt;
}

void SerialPort::update_irq() {
  bool level = pending_interrupt() != kIirNoInterrupt;
  if (level == irq_level_) return;
  irq_level_ = level;
  if (irq_) irq_(level);
}

void SerialPort::transmit(uint8_t value) {
  if ((mcr_ & kMcrLoop) != 0) {
    if (rx_.size() < kRxCapacity) rx_.push_back(value);
  } else {
    // The console is best effort: a full pipe or closed file must not stop the guest.
    (void)!::write(out_fd_, &value, 1);
    ++bytes_written_;
  }
  // The byte left at once, so the holding register is empty again.
  thr_interrupt_ = true;
}

void SerialPort::write(uint16_t offset, uint8_t value) {
  bool dlab = (lcr_ & kLcrDlab) != 0;
  switch (offset) {
    case kData:
      if (dlab) {
        divisor_low_ = value;
      } else {
        transmit(value);
      }
      break;
    case kIer:
      if (dlab) {
        divisor_high_ = value;
      } else {
        uint8_t changed = (ier_ ^ value) & 0x0f;
        ier_ = value & 0x0f;
        // Turning THRI on with the holding register empty raises the interrupt, even if it was
        // acknowledged before: Linux's 8250 driver starts transmitting, and tests the UART, so.
        if ((changed & kIerThrEmpty) != 0) thr_interrupt_ = (ier_ & kIerThrEmpty) != 0;
      }
      break;
    case kIirFcr:
      fcr_ = value & 0xc9;  // enable, DMA mode, trigger level; the clear bits self-clear
      if ((value & kFcrClearRx) != 0) rx_.clear();
      break;
    case kLcr:
      lcr_ = value;
      break;
    case kMcr:
      mcr_ = value & 0x1f;
      break;
    case kScratch:
      scratch_ = value;
      break;
    default:
      break;  // LSR and MSR are read-only
  }
  update_irq();
}

uint8_t SerialPort::read(uint16_t offset) {
  bool dlab = (lcr_ & kLcrDlab) != 0;
  uint8_t value = 0xff;
  switch (offset) {
    case kData:
      if (dlab) {
        value = divisor_low_;
      } else if (!rx_.empty()) {
        value = rx_.front();
        rx_.pop_front();
      } else {
        value = 0;
      }
      break;
    case kIer:
      value = dlab ? divisor_high_ : ier_;
      break;
    case kIirFcr: {
      uint8_t id = pending_interrupt();
      // Reading IIR acknowledges a THRE interrupt (the lowest priority one it reports).
      if (id == kIirThrEmpty) thr_interrupt_ = false;
      value = id | ((fcr_ & kFcrEnable) != 0 ? kIirFifoEnabled : 0);
      break;
    }
    case kLcr:
      value = lcr_;
      break;
    case kMcr:
      value = mcr_;
      break;
    case kLsr:
      value = kLsrThrEmpty | kLsrTxIdle | (rx_.empty() ? 0 : kLsrDataReady);
      break;
    case kMsr:
      if ((mcr_ & kMcrLoop) != 0) {
        // Loopback: RTS -> CTS, DTR -> DSR, OUT1 -> RI, OUT2 -> DCD.
        value = static_cast<uint8_t>(((mcr_ & 0x02) << 3) | ((mcr_ & 0x01) << 5) |
                                     ((mcr_ & 0x04) << 4) | ((mcr_ & 0x08) << 4));
      } else {
        value = kMsrConnected;
      }
      break;
    case kScratch:
      value = scratch_;
      break;
    default:
      break;
  }
  update_irq();
  return value;
}

size_t SerialPort::receive(std::span<const uint8_t> bytes) {
  size_t n = std::min(bytes.size(), rx_space());
  rx_.insert(rx_.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
  update_irq();
  return n;
}

}  // namespace ringlane::vmm
