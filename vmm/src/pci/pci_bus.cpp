#include "ringlane/vmm/pci/pci_bus.h"

#include <cstring>

namespace ringlane::vmm {

namespace {

// The host bridge in slot 0: an identity and nothing else (no BARs, no registers).
class PciHostBridge : public PciDevice {
 public:
  // Red Hat's generic PCIe host bridge ID, which Linux binds no special driver to.
  PciHostBridge() : PciDevice({0x1b36, 0x0008, 0x060000, 0, 0x1af4, 0x1100}) {}
  std::string name() const override { return "host bridge"; }
  void bar_read(int, uint64_t, std::span<uint8_t> data) override {
    std::memset(data.data(), 0xff, data.size());
  }
  void bar_write(int, uint64_t, std::span<const uint8_t>) override {}
};

constexpr uint32_t kEnableBit = 0x80000000;

uint32_t load(std::span<const uint8_t> data) {
  uint32_t v = 0;
  std::memcpy(&v, data.data(), std::min<size_t>(data.size(), 4));
  return v;
}

}  // namespace

PciBus::PciBus(PciWindow mmio, PciWindow io)
    : slots_(kSlots), mmio_(mmio), io_(io), next_mmio_(mmio.start), next_io_(io.start) {
  slots_[0] = std::make_shared<PciHostBridge>();
}

Result<int> PciBus::add(std::shared_ptr<PciDevice> device) {
  int slot = 1;
  while (slot < kSlots && slots_[slot]) ++slot;
  if (slot == kSlots) return Error(ENOSPC, "PCI bus 0 has no free slot");
  PciConfigSpace& config = device->config();
  for (int bar = 0; bar < PciConfigSpace::kBarCount; ++bar) {
    uint64_t size = config.bar_size(bar);
    if (size == 0) continue;
    bool io = config.bar_is_io(bar);
    uint64_t& next = io ? next_io_ : next_mmio_;
    uint64_t at = (next + size - 1) & ~(size - 1);  // naturally aligned
    if (at + size > (io ? io_.end : mmio_.end)) {
      return Error(ENOSPC, device->name() + ": its BARs do not fit the PCI " +
                               (io ? "I/O" : "MMIO") + " window");
    }
    config.set_bar_address(bar, at);
    next = at + size;
  }
  if (config.interrupt_pin() != 0) {
    config.set_interrupt_pin(config.interrupt_pin(), static_cast<uint8_t>(intx_gsi(slot)));
  }
  slots_[slot] = std::move(device);
  tell_decoding_listener();
  return slot;
}

PciDevice* PciBus::selected() const {
  if ((address_ & kEnableBit) == 0) return nullptr;
  uint32_t bus = (address_ >> 16) & 0xff;
  uint32_t slot = (address_ >> 11) & 0x1f;
  uint32_t function = (address_ >> 8) & 0x7;
  if (bus != 0 || function != 0) return nullptr;
  return slots_[slot].get();
}

void PciBus::port_read(uint16_t port, std::span<uint8_t> data) {
  uint32_t value = 0xffffffff;
  if (port == kConfigAddressPort && data.size() == 4) {
    value = address_;
  } else if (port >= kConfigDataPort) {
    auto offset = static_cast<uint16_t>((address_ & 0xfc) + (port - kConfigDataPort));
    ++counters_.config_reads;
    if (port - kConfigDataPort + data.size() > 4) {
      ++counters_.bad_config_accesses;
    } else if (PciDevice* d = selected()) {
      value = d->config_read(offset, static_cast<uint8_t>(data.size()));
    }
  } else {
    ++counters_.bad_config_accesses;
  }
  std::memcpy(data.data(), &value, std::min<size_t>(data.size(), 4));
}

void PciBus::port_write(uint16_t port, std::span<const uint8_t> data) {
  if (port == kConfigAddressPort && data.size() == 4) {
    address_ = load(data);
    return;
  }
  if (port < kConfigDataPort || port - kConfigDataPort + data.size() > 4) {
    ++counters_.bad_config_accesses;
    return;
  }
  ++counters_.config_writes;
  PciDevice* d = selected();
  if (d == nullptr) return;
  auto offset = static_cast<uint16_t>((address_ & 0xfc) + (port - kConfigDataPort));
  auto size = static_cast<uint8_t>(data.size());
  bool decoding_changed = d->config_write(offset, size, load(data));
  d->config_written(offset, size, decoding_changed);
  if (decoding_changed) tell_decoding_listener();
}

}  // namespace ringlane::vmm
