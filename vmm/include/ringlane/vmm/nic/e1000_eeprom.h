// E1000Eeprom: the 82540EM's 64-word Microwire EEPROM (a 93C46), read either by bit-banging the
// EECD pins, as Linux's e1000 driver does for this part, or through EERD. It holds the MAC
// address and the words drivers check, and a checksum that makes words 0-0x3f sum to 0xbaba.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace ringlane::vmm {

class E1000Eeprom {
 public:
  static constexpr int kWords = 64;
  static constexpr uint16_t kChecksumTarget = 0xbaba;

  explicit E1000Eeprom(const std::array<uint8_t, 6>& mac);

  uint16_t word(int index) const { return words_[static_cast<size_t>(index) % kWords]; }
  // EECD as the driver reads it: presence, grant, the pins it drives, and DO from the EEPROM.
  uint32_t read_eecd() const;
  // The driver drives SK, CS and DI (and asks for the interface); a rising SK edge shifts a bit.
  void write_eecd(uint32_t value);
  // EERD: a write with START set reads the word at once; the read returns DONE and the data.
  uint32_t read_eerd() const { return eerd_; }
  void write_eerd(uint32_t value);

 private:
  std::array<uint16_t, kWords> words_{};
  uint32_t pins_ = 0;      // SK, CS, DI, REQ as last written
  uint32_t shift_in_ = 0;  // opcode and address bits clocked in since CS rose
  int bits_in_ = 0;
  int bit_out_ = -1;  // index of the bit DO presents (word * 16 + bit, MSB first)
  bool reading_ = false;
  uint32_t eerd_ = 0;
};

}  // namespace ringlane::vmm
