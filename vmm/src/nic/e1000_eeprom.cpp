#include "ringlane/vmm/nic/e1000_eeprom.h"

#include "ringlane/vmm/nic/e1000_registers.h"

namespace ringlane::vmm {

namespace {
constexpr uint32_t kReadOpcode = 0x6;  // Microwire READ: start bit 1, then 10
constexpr int kOpcodeBits = 3;
constexpr int kAddressBits = 6;
// Words drivers read besides the MAC address.
constexpr int kIdLedSettings = 0x04;  // 0xffff: use the default LED behaviour
constexpr int kInitControl1 = 0x0a;
constexpr int kSubsystemId = 0x0b;
constexpr int kSubsystemVendor = 0x0c;
constexpr int kDeviceId = 0x0d;
constexpr int kVendorId = 0x0e;
constexpr int kInitControl2 = 0x0f;  // bits 12-13: pause capabilities (both)
constexpr int kChecksum = 0x3f;
}  // namespace

E1000Eeprom::E1000Eeprom(const std::array<uint8_t, 6>& mac) {
  for (size_t i = 0; i < 3; ++i) {
    words_[i] = static_cast<uint16_t>(mac[2 * i] | (mac[2 * i + 1] << 8));
  }
  words_[kIdLedSettings] = 0xffff;
  words_[kInitControl1] = 0x0000;
  words_[kSubsystemId] = 0x0000;
  words_[kSubsystemVendor] = 0x8086;
  words_[kDeviceId] = 0x100e;
  words_[kVendorId] = 0x8086;
  words_[kInitControl2] = 0x3000;
  uint16_t sum = 0;
  for (int i = 0; i < kChecksum; ++i) sum = static_cast<uint16_t>(sum + words_[i]);
  words_[kChecksum] = static_cast<uint16_t>(kChecksumTarget - sum);
}

uint32_t E1000Eeprom::read_eecd() const {
  uint32_t value = e1000::kEecdPres | e1000::kEecdGnt | pins_;
  // DO idles high (ready); while reading it presents the current bit of the addressed word.
  bool bit = true;
  if (reading_ && bit_out_ >= 0) {
    int index = (bit_out_ / 16) % kWords;
    bit = ((words_[index] >> (15 - bit_out_ % 16)) & 1) != 0;
  }
  if (bit) value |= e1000::kEecdDo;
  return value;
}

void E1000Eeprom::write_eecd(uint32_t value) {
  uint32_t old = pins_;
  pins_ = value & (e1000::kEecdSk | e1000::kEecdCs | e1000::kEecdDi | e1000::kEecdReq);
  if ((value & e1000::kEecdCs) == 0) {
    reading_ = false;
    return;
  }
  if (((old ^ value) & e1000::kEecdCs) != 0) {  // chip select rose: a new command
    shift_in_ = 0;
    bits_in_ = 0;
    bit_out_ = -1;
    reading_ = false;
  }
  if (((old ^ value) & e1000::kEecdSk) == 0) return;  // no clock edge
  if ((value & e1000::kEecdSk) == 0) {                // falling edge: next output bit
    if (reading_) ++bit_out_;
    return;
  }
  // Rising edge: DI is sampled while the command and address come in.
  if (reading_) return;
  shift_in_ = (shift_in_ << 1) | ((value & e1000::kEecdDi) != 0 ? 1U : 0U);
  if (++bits_in_ == kOpcodeBits + kAddressBits) {
    uint32_t address = shift_in_ & ((1U << kAddressBits) - 1);
    reading_ = (shift_in_ >> kAddressBits) == kReadOpcode;
    // The falling edge after the last address bit presents the word's first bit.
    bit_out_ = static_cast<int>(address) * 16 - 1;
  }
}

void E1000Eeprom::write_eerd(uint32_t value) {
  if ((value & e1000::kEerdStart) == 0) {
    eerd_ = value;
    return;
  }
  uint32_t address = (value >> 8) & 0xff;
  uint32_t data = address < kWords ? words_[address] : 0;
  eerd_ = (value & 0xff00) | e1000::kEerdDone | (data << 16);
}

}  // namespace ringlane::vmm
