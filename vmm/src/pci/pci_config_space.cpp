#include "ringlane/vmm/pci/pci_config_space.h"

#include <cassert>
#include <cstring>

#include "ringlane/vmm/pci/pci_spec.h"

namespace ringlane::vmm {

PciConfigSpace::PciConfigSpace(const PciIdentity& id) {
  put16(0x00, id.vendor);
  put16(0x02, id.device);
  bytes_[0x08] = id.revision;
  bytes_[0x09] = static_cast<uint8_t>(id.class_code);
  bytes_[0x0a] = static_cast<uint8_t>(id.class_code >> 8);
  bytes_[0x0b] = static_cast<uint8_t>(id.class_code >> 16);
  put16(0x2c, id.subsystem_vendor);
  put16(0x2e, id.subsystem);
  // Command: I/O, memory, bus master, parity, SERR, INTx disable. Interrupt line: scratch.
  write_mask_[0x04] = 0x47;
  write_mask_[0x05] = 0x05;
  write_mask_[0x3c] = 0xff;
  write_mask_[0x0c] = 0xff;  // cache line size
}

void PciConfigSpace::put16(uint16_t offset, uint16_t v) {
  bytes_[offset] = static_cast<uint8_t>(v);
  bytes_[offset + 1] = static_cast<uint8_t>(v >> 8);
}

void PciConfigSpace::put32(uint16_t offset, uint32_t v) {
  put16(offset, static_cast<uint16_t>(v));
  put16(static_cast<uint16_t>(offset + 2), static_cast<uint16_t>(v >> 16));
}

void PciConfigSpace::add_memory_bar(int index, uint64_t size, bool is_64bit) {
  assert(index >= 0 && index + (is_64bit ? 1 : 0) < kBarCount);
  assert(size >= 16 && (size & (size - 1)) == 0);
  bars_[index] = {size, is_64bit};
  auto offset = static_cast<uint16_t>(pci::kRegBar0 + 4 * index);
  uint64_t mask = ~(size - 1);
  // The low four bits are type flags, never writable; the address bits below the size neither.
  put32(offset, is_64bit ? 0x4 : 0x0);
  uint32_t low_mask = static_cast<uint32_t>(mask) & ~0xfU;
  std::memcpy(&write_mask_[offset], &low_mask, 4);
  if (is_64bit) {
    auto high_mask = static_cast<uint32_t>(mask >> 32);
    std::memcpy(&write_mask_[offset + 4], &high_mask, 4);
  }
}

void PciConfigSpace::add_io_bar(int index, uint32_t size) {
  assert(index >= 0 && index < kBarCount);
  assert(size >= 4 && (size & (size - 1)) == 0);
  bars_[index] = {size, false, true};
  auto offset = static_cast<uint16_t>(pci::kRegBar0 + 4 * index);
  put32(offset, 0x1);  // bit 0: an I/O space BAR
  uint32_t mask = ~(size - 1) & ~0x3U;
  std::memcpy(&write_mask_[offset], &mask, 4);
}

void PciConfigSpace::set_bar_address(int index, uint64_t address) {
  auto offset = static_cast<uint16_t>(pci::kRegBar0 + 4 * index);
  uint64_t flag_bits = bars_[index].is_io ? 0x3 : 0xf;
  uint32_t flags = bytes_[offset] & flag_bits;
  put32(offset, static_cast<uint32_t>(address & ~flag_bits) | flags);
  if (bars_[index].is_64bit) put32(static_cast<uint16_t>(offset + 4), address >> 32);
}

std::optional<uint64_t> PciConfigSpace::bar_address(int index) const {
  if (index < 0 || index >= kBarCount || bars_[index].size == 0) return std::nullopt;
  const Bar& bar = bars_[index];
  if ((command() & (bar.is_io ? kCommandIo : kCommandMemory)) == 0) return std::nullopt;
  auto offset = static_cast<uint16_t>(pci::kRegBar0 + 4 * index);
  uint64_t address = read(offset, 4) & (bar.is_io ? ~0x3ULL : ~0xfULL);
  // I/O space is 64 KiB; a BAR being sized or placed above it decodes nothing.
  if (bar.is_io && address + bar.size > 0x10000) return std::nullopt;
  if (bars_[index].is_64bit) {
    address |= uint64_t{read(static_cast<uint16_t>(offset + 4), 4)} << 32;
  }
  // A BAR being sized reads back all ones: not a place it decodes.
  if (address == 0 || address + bars_[index].size < address) return std::nullopt;
  return address;
}

uint8_t PciConfigSpace::add_capability(std::span<const uint8_t> body,
                                       std::span<const uint8_t> writable) {
  assert(body.size() >= 2 && next_capability_ + body.size() <= kSize);
  uint8_t at = next_capability_;
  std::memcpy(&bytes_[at], body.data(), body.size());
  bytes_[at + 1] = 0;
  for (size_t i = 0; i < writable.size() && i < body.size(); ++i) write_mask_[at + i] = writable[i];
  if (last_capability_ == 0) {
    bytes_[pci::kRegCapabilityPointer] = at;
    put16(pci::kRegStatus,
          static_cast<uint16_t>(read16(pci::kRegStatus) | pci::kStatusCapabilities));
  } else {
    bytes_[last_capability_ + 1] = at;
  }
  last_capability_ = at;
  next_capability_ = static_cast<uint8_t>((at + body.size() + 3) & ~3U);
  return at;
}

void PciConfigSpace::set_interrupt_pin(uint8_t pin, uint8_t line) {
  bytes_[0x3d] = pin;
  bytes_[0x3c] = line;
}

uint32_t PciConfigSpace::read(uint16_t offset, uint8_t size) const {
  if ((size != 1 && size != 2 && size != 4) || offset + size > kSize) return 0xffffffff;
  uint32_t v = 0;
  for (uint8_t i = 0; i < size; ++i) v |= uint32_t{bytes_[offset + i]} << (8 * i);
  return v;
}

bool PciConfigSpace::write(uint16_t offset, uint8_t size, uint32_t value) {
  if ((size != 1 && size != 2 && size != 4) || offset + size > kSize) return false;
  bool decoding_changed = false;
  for (uint8_t i = 0; i < size; ++i) {
    uint16_t at = offset + i;
    auto v = static_cast<uint8_t>(value >> (8 * i));
    uint8_t updated = (bytes_[at] & ~write_mask_[at]) | (v & write_mask_[at]);
    if (updated != bytes_[at] && ((at >= 0x04 && at < 0x06) || (at >= 0x10 && at < 0x28))) {
      decoding_changed = true;
    }
    bytes_[at] = updated;
  }
  return decoding_changed;
}

}  // namespace ringlane::vmm
