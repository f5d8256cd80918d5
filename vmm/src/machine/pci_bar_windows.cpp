#include "ringlane/vmm/machine/pci_bar_windows.h"

#include <string>

#include "ringlane/base/log.h"

namespace ringlane::vmm {

bool PciBarWindows::Window::read(uint64_t, uint64_t offset, std::span<uint8_t> data) {
  if (data.size() > registered->size - offset) return false;
  device->bar_read(bar, offset, data);
  return true;
}

bool PciBarWindows::Window::write(uint64_t, uint64_t offset, std::span<const uint8_t> data) {
  if (data.size() > registered->size - offset) return false;
  device->bar_write(bar, offset, data);
  return true;
}

void PciBarWindows::sync(const PciBus& pci) {
  // First every range that is no longer right leaves its bus, so that a BAR moving to where
  // another one just left finds the place free.
  for (int slot = 0; slot < PciBus::kSlots; ++slot) {
    PciDevice* device = pci.device(slot).get();
    for (int bar = 0; bar < PciConfigSpace::kBarCount; ++bar) {
      Window& w = windows_[slot * PciConfigSpace::kBarCount + bar];
      std::optional<Placement> wanted;
      if (device != nullptr) {
        const PciConfigSpace& config = device->config();
        if (std::optional<uint64_t> base = config.bar_address(bar)) {
          wanted = Placement{*base, config.bar_size(bar), config.bar_is_io(bar)};
        }
      }
      if (w.registered && (w.device != device || w.registered != wanted)) {
        (void)bus(*w.registered).remove(w.registered->base);
        w.registered.reset();
      }
      w.device = device;
      w.bar = bar;
      w.wanted = wanted;
    }
  }
  for (Window& w : windows_) {
    if (w.registered || !w.wanted) continue;
    Status added = bus(*w.wanted).insert(w.wanted->base, w.wanted->size, w);
    if (added.ok()) {
      w.registered = w.wanted;
      w.refused.reset();
    } else if (w.refused != w.wanted) {
      log_line_limited(LogLevel::warn, w.device->name() + ": BAR" + std::to_string(w.bar) +
                                           " decodes nothing: " + added.error().message());
      w.refused = w.wanted;
    }
  }
}

}  // namespace ringlane::vmm
