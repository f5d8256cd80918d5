// I8042: the PC keyboard controller at ports 0x60 (data) and 0x64 (status and commands), as much
// of it as Linux needs: its i8042 driver finds a controller that passes the self test, reads and
// writes the command byte, and a keyboard that acknowledges every command (so probing never waits
// for a timeout); nothing is ever typed. Its real use here is the reset line: Linux's reboot=k
// (and the default reboot path without ACPI) pulses it with command 0xfe, which ends the machine.
// The keyboard's output-buffer-full interrupt is IRQ 1.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>

namespace ringlane::vmm {

class I8042 {
 public:
  static constexpr uint16_t kDataPort = 0x60;
  static constexpr uint16_t kCommandPort = 0x64;
  static constexpr uint32_t kIrq = 1;

  using IrqLine = std::function<void(bool high)>;
  explicit I8042(IrqLine irq = {}) : irq_(std::move(irq)) {}

  uint8_t read(uint16_t port);
  // Returns true when the write asked for a system reset.
  bool write(uint16_t port, uint8_t value);

 private:
  void output(uint8_t value);
  void keyboard_command(uint8_t value);
  void update_irq();

  IrqLine irq_;
  bool irq_level_ = false;
  uint8_t command_byte_ = 0x45;  // keyboard interrupt on, system flag, scancode translation
  uint8_t pending_command_ = 0;  // a controller command waiting for its data byte
  std::deque<uint8_t> output_;
  uint8_t last_output_ = 0;
};

}  // namespace ringlane::vmm
