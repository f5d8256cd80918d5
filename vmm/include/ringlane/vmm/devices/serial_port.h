// SerialPort: a 16550A UART at 0x3f8 (COM1, IRQ 4) as Linux's 8250 driver and simple polling
// consoles use it: transmitted bytes go to an fd (stdout or a file) at once, received bytes wait
// in a queue, and the interrupt output follows the 16550's rules (receive data available;
// transmitter holding register empty, raised again whenever IER.THRI is turned on and cleared by
// reading IIR or writing THR). The FIFO bits, the scratch register and loopback (MCR.LOOP with the
// modem lines wired back) are there because Linux's probe checks them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <span>

namespace ringlane::vmm {

class SerialPort {
 public:
  static constexpr uint16_t kBase = 0x3f8;
  static constexpr uint16_t kPorts = 8;
  static constexpr uint32_t kIrq = 4;
  // Received bytes the port holds (more than a real FIFO: nothing typed is lost while the guest
  // is slow; the feeder stops reading its input when this is full).
  static constexpr size_t kRxCapacity = 4096;

  // Called with the interrupt output's level whenever it changes.
  using IrqLine = std::function<void(bool high)>;

  explicit SerialPort(int out_fd, IrqLine irq = {}) : out_fd_(out_fd), irq_(std::move(irq)) {}

  // `offset` is the register (0-7) relative to the base port.
  void write(uint16_t offset, uint8_t value);
  uint8_t read(uint16_t offset);
  // Queues bytes for the guest to read; returns how many fit.
  size_t receive(std::span<const uint8_t> bytes);
  size_t rx_space() const { return kRxCapacity - rx_.size(); }

  bool irq_level() const { return irq_level_; }
  uint64_t bytes_written() const { return bytes_written_; }

 private:
  // The interrupt identification the port would report now (IIR bits 3:0).
  uint8_t pending_interrupt() const;
  void update_irq();
  void transmit(uint8_t value);

  int out_fd_;
  IrqLine irq_;
  bool irq_level_ = false;
  uint8_t ier_ = 0;
  uint8_t lcr_ = 0;
  uint8_t mcr_ = 0;
  uint8_t fcr_ = 0;
  uint8_t scratch_ = 0;
  uint8_t divisor_low_ = 1;
  uint8_t divisor_high_ = 0;
  bool thr_interrupt_ = false;  // the "transmitter holding register empty" interrupt is pending
  std::deque<uint8_t> rx_;
  uint64_t bytes_written_ = 0;
};

}  // namespace ringlane::vmm
