#include "ringlane/vmm/nic/passthrough_device.h"

#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "ringlane/base/hex.h"
#include "ringlane/base/log.h"
#include "ringlane/vmm/pci/pci_spec.h"

namespace ringlane::vmm {
namespace {

constexpr uint64_t kPage = 4096;
}  // namespace

PassthroughDevice::PassthroughDevice(Machine& machine, vfio::VfioSession session,
                                     const PciIdentity& id)
    : PciDevice(id),
      vm_(machine.vm()),
      session_(std::move(session)),
      address_(session_.device.address()),
      vendor_(id.vendor),
      device_id_(id.device),
      bars_(PciConfigSpace::kBarCount) {}

Result<std::shared_ptr<PassthroughDevice>> PassthroughDevice::create(
    Machine& machine, const vfio::PciAddress& address) {
  auto session = vfio::VfioSession::open(address);
  if (!session.ok()) return session.error();
  vfio::VfioDevice& device = session->device;
  const std::string bdf = address.to_string();
  // Start from the device's reset state, not whatever its last driver left running (DMA into
  // memory that is now the guest's, for one).
  if (device.info().supports_reset()) {
    RINGLANE_TRY(device.reset());
  } else {
    log_line(LogLevel::warn, bdf + ": no VFIO reset; the guest gets it as its last driver left it");
  }
  auto read = [&](uint16_t offset, uint32_t width) { return device.read_config(offset, width); };
  auto ids = read(0x00, 4);
  auto class_rev = read(0x08, 4);
  auto subsystem = read(0x2c, 4);
  if (!ids.ok()) return ids.error();
  if (!class_rev.ok()) return class_rev.error();
  if (!subsystem.ok()) return subsystem.error();
  PciIdentity id{static_cast<uint16_t>(*ids),
                 static_cast<uint16_t>(*ids >> 16),
                 *class_rev >> 8,
                 static_cast<uint8_t>(*class_rev),
                 static_cast<uint16_t>(*subsystem),
                 static_cast<uint16_t>(*subsystem >> 16)};
  std::shared_ptr<PassthroughDevice> self(new PassthroughDevice(machine, std::move(*session), id));
  vfio::VfioDevice& dev = self->session_.device;

  // The BARs: sizes and kinds as the device has them.
  for (int i = 0; i < PciConfigSpace::kBarCount; ++i) {
    auto region = dev.region_info(static_cast<uint32_t>(i));
    if (!region.ok()) return region.error();
    if (region->size == 0) continue;
    auto raw = dev.read_config(static_cast<uint32_t>(0x10 + 4 * i), 4);
    if (!raw.ok()) return raw.error();
    bool io = (*raw & 1) != 0;
    bool is_64bit = !io && ((*raw >> 1) & 3) == 2;
    if (is_64bit && i == PciConfigSpace::kBarCount - 1) {
      return Error(EINVAL, bdf + ": BAR" + std::to_string(i) +
                               " claims to be 64-bit, but there is no BAR after it for its upper "
                               "half");
    }
    if (io) {
      self->config().add_io_bar(i, static_cast<uint32_t>(region->size));
    } else {
      self->config().add_memory_bar(i, region->size, is_64bit);
    }
    self->bars_[i] = Bar{std::move(*region), {}};
    if (is_64bit) ++i;  // the upper half is this BAR's
  }

  // MSI-X: where the device keeps its table, and our table in its place.
  auto status = dev.read_config(pci::kRegStatus, 2);
  if (!status.ok()) return status.error();
  if ((*status & pci::kStatusCapabilities) != 0) {
    auto next = dev.read_config(pci::kRegCapabilityPointer, 1);
    if (!next.ok()) return next.error();
    uint32_t at = *next & 0xfc;
    for (int hops = 0; at >= 0x40 && hops < 48; ++hops) {
      auto header = dev.read_config(at, 2);
      if (!header.ok()) return header.error();
      if ((*header & 0xff) == pci::kCapabilityIdMsix) {
        auto control = dev.read_config(at + 2, 2);
        auto table = dev.read_config(at + 4, 4);
        if (!control.ok()) return control.error();
        if (!table.ok()) return table.error();
        Msix& m = self->msix_;
        m.capability = static_cast<uint8_t>(at);
        m.bar = static_cast<int>(*table & 7);
        m.table_offset = *table & ~7U;
        m.control = static_cast<uint16_t>(*control & pci::kMsixControlTableSize);
        uint16_t vectors = static_cast<uint16_t>((*control & pci::kMsixControlTableSize) + 1);
        m.table_bytes = uint64_t{vectors} * MsixTable::kEntrySize;
        if (m.bar >= PciConfigSpace::kBarCount || !self->bars_[m.bar]) {
          return Error(EINVAL, bdf + ": its MSI-X table is in BAR" + std::to_string(m.bar) +
                                   ", which the device does not have");
        }
        PassthroughDevice* raw_self = self.get();
        auto created = MsixTable::create(vectors, machine.gsi_routing(),
                                         [raw_self] { raw_self->update_msix(); });
        if (!created.ok()) return created.error();
        m.table.emplace(std::move(*created));
        for (uint16_t v = 0; v < vectors; ++v) {
          auto event = EventFd::create();
          if (!event.ok()) return event.error();
          m.events.push_back(std::move(*event));
        }
        self->has_msix_ = true;
        self->config_split_ = PassthroughConfig(m.capability);
        break;
      }
      at = (*header >> 8) & 0xfc;
    }
  }

  // The mappable pieces of each memory BAR, less the MSI-X table's pages, which must trap.
  for (int i = 0; i < PciConfigSpace::kBarCount; ++i) {
    if (!self->bars_[i] || self->config().bar_is_io(i)) continue;
    Bar& bar = *self->bars_[i];
    for (const vfio::MmapArea& area : bar.region.mmap_areas()) {
      std::vector<vfio::MmapArea> pieces{area};
      if (self->has_msix_ && self->msix_.bar == i) {
        uint64_t hole_start = self->msix_.table_offset & ~(kPage - 1);
        uint64_t hole_end =
            (self->msix_.table_offset + self->msix_.table_bytes + kPage - 1) & ~(kPage - 1);
        pieces.clear();
        if (area.offset < hole_start) {
          pieces.push_back(
              {area.offset, std::min(area.offset + area.size, hole_start) - area.offset});
        }
        if (area.offset + area.size > hole_end) {
          uint64_t from = std::max(area.offset, hole_end);
          pieces.push_back({from, area.offset + area.size - from});
        }
      }
      for (const vfio::MmapArea& piece : pieces) {
        // KVM slots are whole pages.
        if (piece.size == 0 || piece.offset % kPage != 0 || piece.size % kPage != 0) continue;
        auto mapping = dev.map(bar.region, piece.offset, piece.size);
        if (!mapping.ok()) {
          log_line(LogLevel::warn, mapping.error().to_string() + "; its accesses will trap");
          continue;
        }
        bar.segments.push_back(
            Segment{piece.offset, std::move(*mapping), machine.allocate_memory_slot(), {}});
      }
    }
  }

  // DMA: the device sees guest RAM at the guest's own addresses.
  const GuestRam& ram = machine.ram();
  RINGLANE_TRY(
      self->session_.container.dma_map(0, ram.base(), ram.size(), vfio::DmaAccess::read_write));
  self->dma_bytes_ = ram.size();
  return self;
}

PassthroughDevice::~PassthroughDevice() {
  for (const auto& [fd, gsi] : msix_.irqfds) (void)vm_.set_irqfd(fd, gsi, false);
  if (msix_.vfio_enabled) (void)session_.device.disable_irqs(vfio::IrqIndex::msix);
  for (auto& bar : bars_) {
    if (!bar) continue;
    for (Segment& s : bar->segments) {
      if (s.mapped_at) (void)vm_.set_memory(s.slot, *s.mapped_at, 0, s.mapping.data());
    }
  }
  if (dma_bytes_ != 0) (void)session_.container.dma_unmap(0, dma_bytes_);
}

std::string PassthroughDevice::ids() const {
  char text[16];
  std::snprintf(text, sizeof(text), "%04x:%04x", vendor_, device_id_);
  return text;
}

uint8_t PassthroughDevice::emulated_byte(uint16_t at) const {
  if (has_msix_ && at == msix_.capability + 2) return static_cast<uint8_t>(msix_.control);
  if (has_msix_ && at == msix_.capability + 3) return static_cast<uint8_t>(msix_.control >> 8);
  return config().byte(at);
}

uint32_t PassthroughDevice::config_read(uint16_t offset, uint8_t size) {
  if ((size != 1 && size != 2 && size != 4) || offset + size > PciConfigSpace::kSize) {
    return 0xffffffff;
  }
  uint32_t device_value = 0;
  if (config_split_.needs_device(offset, size)) {
    auto real = session_.device.read_config(offset, size);
    if (!real.ok()) {
      log_line_limited(LogLevel::warn, real.error().to_string());
      return 0xffffffff;
    }
    device_value = *real;
  }
  // Every byte of the access, of which merge() keeps the emulated ones.
  uint32_t emulated_value = 0;
  for (uint16_t i = 0; i < size; ++i) {
    emulated_value |= uint32_t{emulated_byte(offset + i)} << (8 * i);
  }
  return config_split_.merge(offset, size, device_value, emulated_value);
}

bool PassthroughDevice::config_write(uint16_t offset, uint8_t size, uint32_t value) {
  if ((size != 1 && size != 2 && size != 4) || offset + size > PciConfigSpace::kSize) {
    return false;
  }
  // The emulation takes what is its own (BARs, command, line; its write mask keeps the rest).
  bool decoding_changed = config().write(offset, size, value);
  bool msix_touched = false;
  for (uint16_t i = 0; i < size; ++i) {
    if (has_msix_ && offset + i == msix_.capability + 3) {  // enable and function mask
      auto byte = static_cast<uint16_t>((value >> (8 * i)) & 0xff);
      msix_.control = static_cast<uint16_t>(
          (msix_.control & ~(pci::kMsixControlEnable | pci::kMsixControlFunctionMask)) |
          ((byte << 8) & (pci::kMsixControlEnable | pci::kMsixControlFunctionMask)));
      msix_touched = true;
    }
  }
  for (const auto& w : config_split_.device_writes(offset, size, value)) {
    if (Status s = session_.device.write_config(w.offset, w.value, w.size); !s.ok()) {
      log_line_limited(LogLevel::warn, s.error().to_string());
    }
  }
  if (msix_touched) msix_.table->set_control(msix_.control);
  return decoding_changed;
}

void PassthroughDevice::config_written(uint16_t offset, uint8_t size, bool decoding_changed) {
  (void)offset;
  (void)size;
  if (decoding_changed) update_mappings();
}

void PassthroughDevice::update_mappings() {
  for (int i = 0; i < PciConfigSpace::kBarCount; ++i) {
    if (!bars_[i]) continue;
    std::optional<uint64_t> base = config().bar_address(i);
    for (Segment& s : bars_[i]->segments) {
      std::optional<uint64_t> want;
      if (base) want = *base + s.offset;
      if (want == s.mapped_at) continue;
      if (s.mapped_at) {
        if (Status r = vm_.set_memory(s.slot, *s.mapped_at, 0, s.mapping.data()); !r.ok()) {
          log_line_limited(LogLevel::warn, name() + ": " + r.error().to_string());
        }
        s.mapped_at.reset();
      }
      if (!want) continue;
      // Where the slot cannot go (overlapping RAM, say), the accesses trap and are forwarded.
      if (Status r = vm_.set_memory(s.slot, *want, s.mapping.size(), s.mapping.data()); !r.ok()) {
        log_line_limited(LogLevel::warn, name() + ": BAR" + std::to_string(i) + " at " +
                                             hex(*want) + ": " + r.error().to_string() +
                                             "; its accesses will trap");
        continue;
      }
      s.mapped_at = want;
    }
  }
}

// Wholly inside: an access that only overlaps the table (a guest's odd access across its edge)
// goes to the device, whose own table the guest never programs.
bool PassthroughDevice::in_msix_table(int bar, uint64_t offset, uint64_t len) const {
  return has_msix_ && bar == msix_.bar && offset >= msix_.table_offset &&
         len <= msix_.table_bytes && offset - msix_.table_offset <= msix_.table_bytes - len;
}

void PassthroughDevice::bar_read(int bar, uint64_t offset, std::span<uint8_t> data) {
  ++trapped_accesses_;
  if (in_msix_table(bar, offset, data.size())) {
    msix_.table->table_read(offset - msix_.table_offset, data);
    return;
  }
  if (!bars_[bar]) {
    std::memset(data.data(), 0xff, data.size());
    return;
  }
  if (Status s = session_.device.read(bars_[bar]->region, offset, data); !s.ok()) {
    log_line_limited(LogLevel::warn, s.error().to_string());
    std::memset(data.data(), 0xff, data.size());
  }
}

void PassthroughDevice::bar_write(int bar, uint64_t offset, std::span<const uint8_t> data) {
  ++trapped_accesses_;
  if (in_msix_table(bar, offset, data.size())) {
    msix_.table->table_write(offset - msix_.table_offset, data);
    return;
  }
  if (!bars_[bar]) return;
  if (Status s = session_.device.write(bars_[bar]->region, offset, data); !s.ok()) {
    log_line_limited(LogLevel::warn, s.error().to_string());
  }
}

void PassthroughDevice::update_msix() {
  MsixTable& table = *msix_.table;
  if (table.enabled() != msix_.vfio_enabled) {
    if (table.enabled()) {
      std::vector<int> fds;
      for (const EventFd& e : msix_.events) fds.push_back(e.fd());
      Status s = session_.device.set_irq_eventfds(vfio::IrqIndex::msix, 0, fds);
      if (!s.ok()) log_line_limited(LogLevel::warn, s.error().to_string());
      msix_.vfio_enabled = s.ok();
    } else {
      Status s = session_.device.disable_irqs(vfio::IrqIndex::msix);
      if (!s.ok()) log_line_limited(LogLevel::warn, s.error().to_string());
      msix_.vfio_enabled = false;
    }
  }
  std::set<std::pair<int, uint32_t>> wanted;
  for (uint16_t v = 0; v < table.vectors(); ++v) {
    if (msix_.vfio_enabled && table.active(v)) wanted.emplace(msix_.events[v].fd(), table.gsi(v));
  }
  for (const auto& old : msix_.irqfds) {
    if (wanted.count(old) == 0) (void)vm_.set_irqfd(old.first, old.second, false);
  }
  // Only what is attached counts as attached: a failed one is tried again at the next change.
  std::set<std::pair<int, uint32_t>> attached;
  for (const auto& w : wanted) {
    if (msix_.irqfds.count(w) != 0) {
      attached.insert(w);
      continue;
    }
    // A vector that fired while masked left its count in the eventfd: KVM delivers it now.
    if (Status s = vm_.set_irqfd(w.first, w.second, true); !s.ok()) {
      log_line_limited(LogLevel::warn, name() + ": " + s.error().to_string());
      continue;
    }
    attached.insert(w);
  }
  msix_.irqfds = std::move(attached);
}

uint64_t PassthroughDevice::mapped_bytes() const {
  uint64_t total = 0;
  for (const auto& bar : bars_) {
    if (!bar) continue;
    for (const Segment& s : bar->segments) {
      if (s.mapped_at) total += s.mapping.size();
    }
  }
  return total;
}

bool PassthroughDevice::bus_master() const {
  return (config().command() & PciConfigSpace::kCommandBusMaster) != 0;
}

}  // namespace ringlane::vmm
