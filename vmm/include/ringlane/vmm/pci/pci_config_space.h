// PciConfigSpace: a type 0 configuration header and capability list as a guest sees them: 256
// bytes with a per-byte write mask, so read-only fields stay read-only and BAR sizing (write all
// ones, read back the size mask) works the way firmware and kernels expect.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

namespace ringlane::vmm {

struct PciIdentity {
  uint16_t vendor;
  uint16_t device;
  uint32_t class_code;  // base class, sub-class, programming interface
  uint8_t revision;
  uint16_t subsystem_vendor;
  uint16_t subsystem;
};

class PciConfigSpace {
 public:
  static constexpr int kBarCount = 6;
  static constexpr uint16_t kSize = 256;
  static constexpr uint16_t kCommandIo = 0x1;
  static constexpr uint16_t kCommandMemory = 0x2;
  static constexpr uint16_t kCommandBusMaster = 0x4;
  static constexpr uint16_t kCommandIntxDisable = 0x400;

  explicit PciConfigSpace(const PciIdentity& id);

  // Declares memory BAR `index` of `size` bytes (a power of two, at least 16), 64-bit or not.
  void add_memory_bar(int index, uint64_t size, bool is_64bit);
  // Declares I/O BAR `index` of `size` ports (a power of two, at least 4).
  void add_io_bar(int index, uint32_t size);
  uint64_t bar_size(int index) const { return bars_[index].size; }
  bool bar_is_io(int index) const { return bars_[index].is_io; }
  // Where BAR `index` decodes (an address, or a port for an I/O BAR), if its kind of decoding
  // is on.
  std::optional<uint64_t> bar_address(int index) const;
  // The VMM's own placement (what firmware does on real hardware).
  void set_bar_address(int index, uint64_t address);
  // Appends a capability (`body[0]` is its ID; its next pointer is filled in) and returns its
  // offset. `writable` marks the bytes the guest may change, relative to the capability.
  uint8_t add_capability(std::span<const uint8_t> body, std::span<const uint8_t> writable = {});
  void set_interrupt_pin(uint8_t pin, uint8_t line);
  uint8_t interrupt_pin() const { return bytes_[0x3d]; }
  uint8_t interrupt_line() const { return bytes_[0x3c]; }

  // Reads of 1, 2 or 4 bytes; anything else, or past the end, reads as all ones.
  uint32_t read(uint16_t offset, uint8_t size) const;
  // Applies the write mask. Returns true when a BAR or the command register changed, i.e. the
  // device's address decoding may have moved.
  bool write(uint16_t offset, uint8_t size, uint32_t value);
  uint16_t command() const { return read16(0x04); }
  uint8_t byte(uint16_t offset) const { return bytes_[offset]; }
  uint16_t read16(uint16_t offset) const {
    return static_cast<uint16_t>(bytes_[offset] | (bytes_[offset + 1] << 8));
  }

 private:
  struct Bar {
    uint64_t size = 0;
    bool is_64bit = false;
    bool is_io = false;
  };
  void put16(uint16_t offset, uint16_t v);
  void put32(uint16_t offset, uint32_t v);
  std::array<uint8_t, kSize> bytes_{};
  std::array<uint8_t, kSize> write_mask_{};
  std::array<Bar, kBarCount> bars_{};
  uint8_t next_capability_ = 0x40;
  uint8_t last_capability_ = 0;
};

}  // namespace ringlane::vmm
