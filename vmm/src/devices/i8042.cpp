#include "ringlane/vmm/devices/i8042.h"

namespace ringlane::vmm {

namespace {

constexpr uint8_t kStatusOutputFull = 0x01;
constexpr uint8_t kStatusSystemFlag = 0x04;
constexpr uint8_t kStatusUnlocked = 0x10;
constexpr uint8_t kCommandByteKbdInterrupt = 0x01;
constexpr uint8_t kCommandByteKbdDisabled = 0x10;

// Controller commands (port 0x64).
constexpr uint8_t kReadCommandByte = 0x20;
constexpr uint8_t kWriteCommandByte = 0x60;
constexpr uint8_t kSelfTest = 0xaa;
constexpr uint8_t kKbdInterfaceTest = 0xab;
constexpr uint8_t kKbdDisable = 0xad;
constexpr uint8_t kKbdEnable = 0xae;
constexpr uint8_t kReadOutputPort = 0xd0;
constexpr uint8_t kWriteOutputPort = 0xd1;
constexpr uint8_t kWriteKbdOutput = 0xd2;
constexpr uint8_t kPulseResetLine = 0xfe;

// Keyboard replies.
constexpr uint8_t kAck = 0xfa;
constexpr uint8_t kSelfTestPassed = 0x55;
constexpr uint8_t kBatPassed = 0xaa;

}  // namespace

void I8042::update_irq() {
  bool level = !output_.empty() && (command_byte_ & kCommandByteKbdInterrupt) != 0;
  if (level == irq_level_) return;
  irq_level_ = level;
  if (irq_) irq_(level);
}

void I8042::output(uint8_t value) {
  constexpr size_t kMaxQueued = 16;
  if (output_.size() < kMaxQueued) output_.push_back(value);
}

void I8042::keyboard_command(uint8_t value) {
  switch (value) {
    case 0xff:  // reset: acknowledge, then the basic assurance test passed
      output(kAck);
      output(kBatPassed);
      break;
    case 0xf2:  // identify: an MF2 keyboard
      output(kAck);
      output(0xab);
      output(0x83);
      break;
    case 0xee:  // echo
      output(0xee);
      break;
    default:  // everything else (and the parameter bytes of LED and rate commands) is taken
      output(kAck);
      break;
  }
}

uint8_t I8042::read(uint16_t port) {
  if (port == kCommandPort) {
    return static_cast<uint8_t>((output_.empty() ? 0 : kStatusOutputFull) | kStatusSystemFlag |
                                kStatusUnlocked);
  }
  if (!output_.empty()) {
    last_output_ = output_.front();
    output_.pop_front();
    update_irq();
  }
  return last_output_;
}

bool I8042::write(uint16_t port, uint8_t value) {
  if (port == kCommandPort) {
    pending_command_ = 0;
    switch (value) {
      case kReadCommandByte:
        output(command_byte_);
        break;
      case kWriteCommandByte:
      case kWriteOutputPort:
      case kWriteKbdOutput:
        pending_command_ = value;
        break;
      case kSelfTest:
        output(kSelfTestPassed);
        break;
      case kKbdInterfaceTest:
        output(0x00);
        break;
      case kKbdDisable:
        command_byte_ |= kCommandByteKbdDisabled;
        break;
      case kKbdEnable:
        command_byte_ &= static_cast<uint8_t>(~kCommandByteKbdDisabled);
        break;
      case kReadOutputPort:
        output(0x01);  // the reset line is not asserted
        break;
      case kPulseResetLine:
        return true;
      default:
        break;  // mouse and other commands: there is nothing behind them
    }
    update_irq();
    return false;
  }
  uint8_t command = pending_command_;
  pending_command_ = 0;
  switch (command) {
    case kWriteCommandByte:
      command_byte_ = value;
      break;
    case kWriteOutputPort:
      if ((value & 0x01) == 0) return true;  // bit 0 is the reset line, active low
      break;
    case kWriteKbdOutput:
      output(value);
      break;
    default:
      keyboard_command(value);
      break;
  }
  update_irq();
  return false;
}

}  // namespace ringlane::vmm
