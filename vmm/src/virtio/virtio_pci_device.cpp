#include "ringlane/vmm/virtio/virtio_pci_device.h"

#include <cstddef>
#include <cstring>

#include "ringlane/base/log.h"
#include "ringlane/virtio/pci_spec.h"
#include "ringlane/virtio/spec.h"

namespace ringlane::vmm {

namespace {

using virtio::bit;
using virtio::PciCommonCfg;

constexpr uint64_t kDeviceConfigSize = 0x100;

// A virtio_pci_cap for the structure of `type` at `offset` in BAR `bar`.
virtio::PciCap vendor_capability(uint8_t type, uint8_t bar, uint32_t offset, uint32_t length) {
  virtio::PciCap cap{};
  cap.cap_vndr = virtio::kPciCapVendorSpecific;
  cap.cap_len = sizeof(cap);
  cap.cfg_type = type;
  cap.bar = bar;
  cap.offset = offset;
  cap.length = length;
  return cap;
}

template <typename T>
std::span<const uint8_t> bytes_of(const T& value) {
  return {reinterpret_cast<const uint8_t*>(&value), sizeof(T)};
}

}  // namespace

Result<std::shared_ptr<VirtioPciDevice>> VirtioPciDevice::create(
    std::shared_ptr<VirtioDevice> device, Vm& vm, GsiRouting& routing) {
  std::vector<Queue> queues(device->queue_count());
  for (Queue& q : queues) {
    Result<EventFd> kick = EventFd::create();
    Result<EventFd> call = EventFd::create();
    if (!kick.ok()) return kick.error();
    if (!call.ok()) return call.error();
    q.kick = std::make_unique<EventFd>(std::move(*kick));
    q.call = std::make_unique<EventFd>(std::move(*call));
    q.config.size = device->queue_max_size();
    q.config.kick_fd = q.kick->fd();
    q.config.call_fd = q.call->fd();
  }
  std::shared_ptr<VirtioPciDevice> pci(
      new VirtioPciDevice(std::move(device), vm, std::move(queues)));
  // One vector per queue plus one for configuration changes.
  auto vectors = static_cast<uint16_t>(pci->queues_.size() + 1);
  VirtioPciDevice* self = pci.get();
  Result<MsixTable> msix = MsixTable::create(vectors, routing, [self] { self->update_irqfds(); });
  if (!msix.ok()) return msix.error();
  pci->msix_.emplace(std::move(*msix));
  std::vector<uint8_t> cap = pci->msix_->capability(kMsixBar, 0, kPbaOffset);
  pci->msix_capability_ = pci->config().add_capability(cap, MsixTable::capability_writable());
  Result<std::unique_ptr<IntxRelay>> relay = IntxRelay::create([self] { self->raise_intx(); });
  if (!relay.ok()) return relay.error();
  pci->intx_relay_ = std::move(*relay);
  pci->update_irqfds();  // MSI-X starts disabled: INTx until the driver enables it
  return pci;
}

VirtioPciDevice::VirtioPciDevice(std::shared_ptr<VirtioDevice> device, Vm& vm,
                                 std::vector<Queue> queues)
    : PciDevice({virtio::kPciVendorId,
                 static_cast<uint16_t>(virtio::kPciModernDeviceIdBase + device->device_id()),
                 0x020000, 1, virtio::kPciVendorId,
                 static_cast<uint16_t>(virtio::kPciModernSubsystemIdMin + device->device_id())}),
      device_(std::move(device)),
      vm_(vm),
      queues_(std::move(queues)) {
  PciConfigSpace& c = config();
  c.add_memory_bar(0, kBar0Size, false);
  c.add_memory_bar(kMsixBar, kMsixBarSize, false);
  c.set_interrupt_pin(1, 0);
  c.add_capability(bytes_of(
      vendor_capability(virtio::kPciCapCommonCfg, 0, kCommonOffset, sizeof(PciCommonCfg))));
  virtio::PciNotifyCap notify{
      vendor_capability(virtio::kPciCapNotifyCfg, 0, kNotifyOffset,
                        static_cast<uint32_t>(queues_.size() * kNotifyMultiplier)),
      kNotifyMultiplier};
  notify.cap.cap_len = sizeof(notify);
  c.add_capability(bytes_of(notify));
  c.add_capability(bytes_of(vendor_capability(virtio::kPciCapIsrCfg, 0, kIsrOffset, 4)));
  c.add_capability(
      bytes_of(vendor_capability(virtio::kPciCapDeviceCfg, 0, kDeviceOffset, kDeviceConfigSize)));
}

VirtioPciDevice::~VirtioPciDevice() {
  intx_relay_.reset();  // no more raise_intx() from its thread
  device_->reset();
  for (const auto& [fd, gsi] : irqfds_) (void)vm_.set_irqfd(fd, gsi, false);
  if (doorbell_base_) {
    for (size_t i = 0; i < queues_.size(); ++i) {
      (void)vm_.set_ioeventfd(*doorbell_base_ + kNotifyOffset + i * kNotifyMultiplier, 2,
                              queues_[i].kick->fd(), false);
    }
  }
}

void VirtioPciDevice::bar_read(int bar, uint64_t offset, std::span<uint8_t> data) {
  ++counters_.register_reads;
  std::memset(data.data(), 0, data.size());
  if (bar == kMsixBar) {
    if (offset < kPbaOffset) {
      msix_->table_read(offset, data);
    } else {
      msix_->pba_read(offset - kPbaOffset, data);
    }
    return;
  }
  if (offset < kIsrOffset) {
    common_read(offset, data);
  } else if (offset < kDeviceOffset) {
    if (offset == kIsrOffset) data[0] = read_isr();
  } else if (offset < kDeviceOffset + kDeviceConfigSize) {
    device_->read_config(offset - kDeviceOffset, data);
  }
}

void VirtioPciDevice::bar_write(int bar, uint64_t offset, std::span<const uint8_t> data) {
  ++counters_.register_writes;
  if (bar == kMsixBar) {
    if (offset < kPbaOffset) {
      msix_->table_write(offset, data);
    } else {
      ++counters_.bad_accesses;  // the PBA is read-only
    }
    return;
  }
  if (offset < kIsrOffset) {
    common_write(offset, data);
  } else if (offset >= kDeviceOffset && offset < kDeviceOffset + kDeviceConfigSize) {
    device_->write_config(offset - kDeviceOffset, data);
  } else if (offset >= kNotifyOffset) {
    // A doorbell that did not match the ioeventfd (another size, or before it was registered).
    uint64_t index = (offset - kNotifyOffset) / kNotifyMultiplier;
    ++counters_.doorbell_exits;
    if (index < queues_.size()) {
      (void)queues_[index].kick->signal();
    } else {
      ++counters_.bad_accesses;
    }
  } else {
    ++counters_.bad_accesses;
  }
}

void VirtioPciDevice::common_read(uint64_t offset, std::span<uint8_t> data) {
  if (offset + data.size() > sizeof(PciCommonCfg)) {
    ++counters_.bad_accesses;
    return;
  }
  PciCommonCfg c{};
  c.device_feature_select = device_feature_select_;
  uint64_t offered = device_->offered_features() | bit(virtio::kFVersion1);
  c.device_feature = device_feature_select_ < 2
                         ? static_cast<uint32_t>(offered >> (32 * device_feature_select_))
                         : 0;
  c.driver_feature_select = driver_feature_select_;
  c.driver_feature = driver_feature_select_ < 2
                         ? static_cast<uint32_t>(driver_features_ >> (32 * driver_feature_select_))
                         : 0;
  c.config_msix_vector = config_msix_vector_;
  c.num_queues = static_cast<uint16_t>(queues_.size());
  c.device_status = status_;
  c.config_generation = config_generation_;
  c.queue_select = queue_select_;
  if (queue_select_ < queues_.size()) {
    const Queue& q = queues_[queue_select_];
    c.queue_size = q.config.size;
    c.queue_msix_vector = q.msix_vector;
    c.queue_enable = q.config.enabled ? 1 : 0;
    c.queue_notify_off = queue_select_;
    c.queue_desc = q.config.desc;
    c.queue_driver = q.config.avail;
    c.queue_device = q.config.used;
  }
  std::memcpy(data.data(), reinterpret_cast<const uint8_t*>(&c) + offset, data.size());
}

void VirtioPciDevice::common_write(uint64_t offset, std::span<const uint8_t> data) {
  if (offset + data.size() > sizeof(PciCommonCfg)) {
    ++counters_.bad_accesses;
    return;
  }
  // Merge the write into the current view, then apply the one field it touched.
  PciCommonCfg c{};
  common_read(0, {reinterpret_cast<uint8_t*>(&c), sizeof(c)});
  std::memcpy(reinterpret_cast<uint8_t*>(&c) + offset, data.data(), data.size());
  auto touches = [&](size_t field_offset, size_t field_size) {
    return offset < field_offset + field_size && field_offset < offset + data.size();
  };
  bool running = (status_ & virtio::kStatusDriverOk) != 0;
  if (touches(offsetof(PciCommonCfg, device_feature_select), 4)) {
    device_feature_select_ = c.device_feature_select;
  } else if (touches(offsetof(PciCommonCfg, driver_feature_select), 4)) {
    driver_feature_select_ = c.driver_feature_select;
  } else if (touches(offsetof(PciCommonCfg, driver_feature), 4)) {
    if (driver_feature_select_ < 2 && (status_ & virtio::kStatusFeaturesOk) == 0) {
      uint32_t shift = 32 * driver_feature_select_;
      driver_features_ =
          (driver_features_ & ~(0xffffffffULL << shift)) | (uint64_t{c.driver_feature} << shift);
    } else {
      ++counters_.bad_accesses;
    }
  } else if (touches(offsetof(PciCommonCfg, config_msix_vector), 2)) {
    config_msix_vector_ = c.config_msix_vector;
  } else if (touches(offsetof(PciCommonCfg, device_status), 1)) {
    set_status(c.device_status);
  } else if (touches(offsetof(PciCommonCfg, queue_select), 2)) {
    queue_select_ = c.queue_select;
  } else if (queue_select_ >= queues_.size() || running) {
    // Queue fields of a queue that does not exist, or changed while the device runs.
    ++counters_.bad_accesses;
  } else {
    Queue& q = queues_[queue_select_];
    if (touches(offsetof(PciCommonCfg, queue_size), 2)) {
      // A power of two no larger than the maximum; anything else is refused (kept as it was).
      uint16_t size = c.queue_size;
      if (size != 0 && size <= device_->queue_max_size() && (size & (size - 1)) == 0) {
        q.config.size = size;
      } else {
        ++counters_.bad_accesses;
      }
    } else if (touches(offsetof(PciCommonCfg, queue_msix_vector), 2)) {
      q.msix_vector =
          c.queue_msix_vector < msix_->vectors() ? c.queue_msix_vector : virtio::kPciMsiNoVector;
      update_irqfds();
    } else if (touches(offsetof(PciCommonCfg, queue_enable), 2)) {
      q.config.enabled = c.queue_enable == 1;
    } else if (touches(offsetof(PciCommonCfg, queue_desc), 8)) {
      q.config.desc = c.queue_desc;
    } else if (touches(offsetof(PciCommonCfg, queue_driver), 8)) {
      q.config.avail = c.queue_driver;
    } else if (touches(offsetof(PciCommonCfg, queue_device), 8)) {
      q.config.used = c.queue_device;
    } else {
      ++counters_.bad_accesses;  // read-only fields
    }
  }
}

void VirtioPciDevice::set_status(uint8_t status) {
  if (status == 0) {
    reset();
    return;
  }
  uint8_t added = status & ~status_;
  if ((added & virtio::kStatusFeaturesOk) != 0) {
    uint64_t offered = device_->offered_features() | bit(virtio::kFVersion1);
    // A driver asking for what we did not offer, or a legacy driver, does not get FEATURES_OK.
    if ((driver_features_ & ~offered) != 0 || (driver_features_ & bit(virtio::kFVersion1)) == 0) {
      log_line_limited(LogLevel::warn, name() + ": driver features refused");
      status &= static_cast<uint8_t>(~virtio::kStatusFeaturesOk);
    }
  }
  status_ = status;
  if ((added & virtio::kStatusDriverOk) != 0) {
    std::vector<VirtqueueConfig> configs;
    for (const Queue& q : queues_) configs.push_back(q.config);
    if (Status s = device_->activate(driver_features_, configs); !s.ok()) {
      log_line_limited(LogLevel::warn, name() + ": cannot start: " + s.error().to_string());
      status_ |= virtio::kStatusNeedsReset;
      ++config_generation_;
    }
  }
}

void VirtioPciDevice::reset() {
  device_->reset();
  status_ = 0;
  driver_features_ = 0;
  device_feature_select_ = 0;
  driver_feature_select_ = 0;
  queue_select_ = 0;
  config_msix_vector_ = virtio::kPciMsiNoVector;
  for (Queue& q : queues_) {
    q.config.size = device_->queue_max_size();
    q.config.desc = q.config.avail = q.config.used = 0;
    q.config.enabled = false;
    q.msix_vector = virtio::kPciMsiNoVector;
    q.kick->drain();
    q.call->drain();
  }
  (void)read_isr();  // a reset acknowledges everything
  update_irqfds();
}

void VirtioPciDevice::config_written(uint16_t offset, uint8_t size, bool decoding_changed) {
  if (decoding_changed) update_doorbells();
  {
    std::lock_guard lock(intx_mutex_);
    intx_disabled_ = (config().command() & PciConfigSpace::kCommandIntxDisable) != 0;
  }
  // The MSI-X message control word (enable, function mask) lives at capability + 2.
  uint16_t control = msix_capability_ + 2;
  if (offset <= control + 1 && control < offset + size) {
    msix_->set_control(config().read16(control));
  }
}

void VirtioPciDevice::update_doorbells() {
  std::optional<uint64_t> base = config().bar_address(0);
  if (base == doorbell_base_) return;
  for (size_t i = 0; i < queues_.size(); ++i) {
    int fd = queues_[i].kick->fd();
    uint64_t offset = kNotifyOffset + i * kNotifyMultiplier;
    if (doorbell_base_) (void)vm_.set_ioeventfd(*doorbell_base_ + offset, 2, fd, false);
    if (base) {
      if (Status s = vm_.set_ioeventfd(*base + offset, 2, fd, true); !s.ok()) {
        log_line_limited(LogLevel::warn, name() + ": doorbell: " + s.error().to_string());
      }
    }
  }
  doorbell_base_ = base;
}

void VirtioPciDevice::set_interrupt_line(std::unique_ptr<InterruptLine> line) {
  std::lock_guard lock(intx_mutex_);
  intx_line_ = std::move(line);
  intx_high_ = false;
}

void VirtioPciDevice::raise_intx() {
  std::lock_guard lock(intx_mutex_);
  isr_ |= virtio::kPciIsrQueue;
  if (intx_line_ == nullptr || intx_high_ || intx_disabled_) return;
  intx_high_ = true;
  if (Status s = intx_line_->set(true); !s.ok()) {
    log_line_limited(LogLevel::warn, name() + ": INTx: " + s.error().to_string());
  }
}

uint8_t VirtioPciDevice::read_isr() {
  std::lock_guard lock(intx_mutex_);
  uint8_t isr = isr_;
  isr_ = 0;
  if (intx_high_ && intx_line_ != nullptr) {
    intx_high_ = false;
    (void)intx_line_->set(false);
  }
  return isr;
}

void VirtioPciDevice::update_irqfds() {
  // Without MSI-X the driver takes INTx: the relay reads the interrupt eventfds and sets the ISR.
  std::vector<int> intx_fds;
  if (!msix_ || !msix_->enabled()) {
    for (const Queue& q : queues_) intx_fds.push_back(q.call->fd());
  }
  if (intx_relay_) intx_relay_->watch(intx_fds);
  std::set<std::pair<int, uint32_t>> wanted;
  for (const Queue& q : queues_) {
    if (msix_ && msix_->active(q.msix_vector)) {
      wanted.emplace(q.call->fd(), msix_->gsi(q.msix_vector));
    }
  }
  for (const auto& attached : irqfds_) {
    if (wanted.count(attached) == 0) (void)vm_.set_irqfd(attached.first, attached.second, false);
  }
  for (const auto& w : wanted) {
    if (irqfds_.count(w) != 0) continue;
    if (Status s = vm_.set_irqfd(w.first, w.second, true); !s.ok()) {
      log_line_limited(LogLevel::warn, name() + ": " + s.error().to_string());
    }
  }
  irqfds_ = std::move(wanted);
}

}  // namespace ringlane::vmm
