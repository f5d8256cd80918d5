#include "ringlane/vfio/vfio_device.h"

#include <linux/vfio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <vector>

namespace ringlane::vfio {
namespace {

std::string hex(uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof(text), "0x%" PRIx64, value);
  return text;
}

std::string region_name(uint32_t index) {
  if (index <= 5) return "BAR" + std::to_string(index);
  if (index == kRomRegion) return "ROM";
  if (index == kConfigRegion) return "config space";
  return "region " + std::to_string(index);
}

}  // namespace

const char* to_string(IrqIndex index) {
  switch (index) {
    case IrqIndex::intx:
      return "INTx";
    case IrqIndex::msi:
      return "MSI";
    case IrqIndex::msix:
      return "MSI-X";
    case IrqIndex::err:
      return "error";
    case IrqIndex::req:
      return "request";
  }
  return "?";
}

bool DeviceInfo::supports_reset() const {
  return (flags & VFIO_DEVICE_FLAGS_RESET) != 0;
}

Result<VfioDevice> VfioDevice::from_fd(UniqueFd fd, const PciAddress& address) {
  vfio_device_info info{};
  info.argsz = sizeof(info);
  if (::ioctl(fd.get(), VFIO_DEVICE_GET_INFO, &info) != 0) {
    return errno_error("VFIO_DEVICE_GET_INFO on " + address.to_string());
  }
  if ((info.flags & VFIO_DEVICE_FLAGS_PCI) == 0 || info.num_regions <= kConfigRegion) {
    return Error(ENODEV, address.to_string() + " is not a vfio-pci device");
  }
  VfioDevice device(std::move(fd), address, DeviceInfo{info.flags, info.num_regions, info.num_irqs},
                    0);
  RINGLANE_ASSIGN_OR_RETURN(const RegionInfo config, device.region_info(kConfigRegion));
  device.config_offset_ = config.offset;
  return device;
}

Result<RegionInfo> VfioDevice::region_info(uint32_t index) const {
  // Asked once with the bare struct; when it has capabilities the kernel says how big a buffer
  // they need (argsz), and it is asked again with that.
  std::vector<uint8_t> buffer(sizeof(vfio_region_info));
  for (int attempt = 0; attempt < 2; ++attempt) {
    vfio_region_info info{};
    info.argsz = static_cast<uint32_t>(buffer.size());
    info.index = index;
    std::memcpy(buffer.data(), &info, sizeof(info));
    if (::ioctl(fd_.get(), VFIO_DEVICE_GET_REGION_INFO, buffer.data()) != 0) {
      return errno_error("VFIO_DEVICE_GET_REGION_INFO for " + region_name(index) + " of " +
                         address_.to_string());
    }
    std::memcpy(&info, buffer.data(), sizeof(info));
    if ((info.flags & VFIO_REGION_INFO_FLAG_CAPS) != 0 && info.argsz > buffer.size()) {
      buffer.assign(info.argsz, 0);
      continue;
    }
    RegionInfo result{index, info.flags, info.size, info.offset, {}};
    if ((info.flags & VFIO_REGION_INFO_FLAG_CAPS) != 0 && info.cap_offset != 0) {
      auto caps = parse_region_caps(std::span<const uint8_t>(buffer.data(), buffer.size()),
                                    info.cap_offset);
      if (!caps.ok()) {
        return Error(caps.error().code(), region_name(index) + " of " + address_.to_string() +
                                              ": " + caps.error().message());
      }
      result.caps = std::move(*caps);
    }
    return result;
  }
  return Error(EPROTO, region_name(index) + " of " + address_.to_string() +
                           ": the region info kept growing");
}

Result<RegionMapping> VfioDevice::map(const RegionInfo& region, uint64_t offset,
                                      uint64_t size) const {
  const std::string what = region_name(region.index) + " of " + address_.to_string();
  if (!region.mappable()) return Error(EINVAL, what + " cannot be mmap()ed");
  bool inside = false;
  for (const auto& area : region.mmap_areas()) {
    inside = inside || (offset >= area.offset && size <= area.size &&
                        offset - area.offset <= area.size - size);
  }
  if (!inside || size == 0) {
    return Error(EINVAL,
                 what + ": " + hex(offset) + "+" + hex(size) + " is not inside an mmap()able area");
  }
  void* address = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd_.get(),
                         static_cast<off_t>(region.offset + offset));
  if (address == MAP_FAILED) return errno_error("mmap " + what + " at " + hex(offset));
  return RegionMapping(address, size);
}

Status VfioDevice::read(const RegionInfo& region, uint64_t offset, std::span<uint8_t> out) const {
  ssize_t n =
      ::pread(fd_.get(), out.data(), out.size(), static_cast<off_t>(region.offset + offset));
  if (n != static_cast<ssize_t>(out.size())) {
    if (n >= 0) errno = EIO;
    return errno_error("read " + std::to_string(out.size()) + " bytes at " + hex(offset) + " of " +
                       region_name(region.index) + " of " + address_.to_string());
  }
  return {};
}

Status VfioDevice::write(const RegionInfo& region, uint64_t offset,
                         std::span<const uint8_t> data) const {
  ssize_t n =
      ::pwrite(fd_.get(), data.data(), data.size(), static_cast<off_t>(region.offset + offset));
  if (n != static_cast<ssize_t>(data.size())) {
    if (n >= 0) errno = EIO;
    return errno_error("write " + std::to_string(data.size()) + " bytes at " + hex(offset) +
                       " of " + region_name(region.index) + " of " + address_.to_string());
  }
  return {};
}

Result<uint32_t> VfioDevice::read_config(uint32_t offset, uint32_t width) const {
  if (width != 1 && width != 2 && width != 4) {
    return Error(EINVAL, "config read of width " + std::to_string(width));
  }
  uint8_t bytes[4] = {};
  ssize_t n = ::pread(fd_.get(), bytes, width, static_cast<off_t>(config_offset_ + offset));
  if (n != static_cast<ssize_t>(width)) {
    if (n >= 0) errno = EIO;
    return errno_error("read config space of " + address_.to_string() + " at " + hex(offset));
  }
  return static_cast<uint32_t>(bytes[0]) | static_cast<uint32_t>(bytes[1]) << 8 |
         static_cast<uint32_t>(bytes[2]) << 16 | static_cast<uint32_t>(bytes[3]) << 24;
}

Status VfioDevice::write_config(uint32_t offset, uint32_t value, uint32_t width) const {
  if (width != 1 && width != 2 && width != 4) {
    return Error(EINVAL, "config write of width " + std::to_string(width));
  }
  uint8_t bytes[4] = {static_cast<uint8_t>(value), static_cast<uint8_t>(value >> 8),
                      static_cast<uint8_t>(value >> 16), static_cast<uint8_t>(value >> 24)};
  ssize_t n = ::pwrite(fd_.get(), bytes, width, static_cast<off_t>(config_offset_ + offset));
  if (n != static_cast<ssize_t>(width)) {
    if (n >= 0) errno = EIO;
    return errno_error("write config space of " + address_.to_string() + " at " + hex(offset));
  }
  return {};
}

Result<IrqInfo> VfioDevice::irq_info(IrqIndex index) const {
  vfio_irq_info info{};
  info.argsz = sizeof(info);
  info.index = static_cast<uint32_t>(index);
  if (::ioctl(fd_.get(), VFIO_DEVICE_GET_IRQ_INFO, &info) != 0) {
    return errno_error(std::string("VFIO_DEVICE_GET_IRQ_INFO (") + to_string(index) + ") on " +
                       address_.to_string());
  }
  return IrqInfo{index, info.flags, info.count};
}

Status VfioDevice::set_irq_eventfds(IrqIndex index, uint32_t first,
                                    std::span<const int> fds) const {
  std::vector<uint8_t> buffer(sizeof(vfio_irq_set) + fds.size() * sizeof(int32_t));
  vfio_irq_set set{};
  set.argsz = static_cast<uint32_t>(buffer.size());
  set.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
  set.index = static_cast<uint32_t>(index);
  set.start = first;
  set.count = static_cast<uint32_t>(fds.size());
  std::memcpy(buffer.data(), &set, sizeof(set));
  for (size_t i = 0; i < fds.size(); ++i) {
    int32_t fd = fds[i];
    std::memcpy(buffer.data() + sizeof(set) + i * sizeof(fd), &fd, sizeof(fd));
  }
  if (::ioctl(fd_.get(), VFIO_DEVICE_SET_IRQS, buffer.data()) != 0) {
    return errno_error(std::string("attach eventfds to ") + to_string(index) + " vectors " +
                       std::to_string(first) + ".." + std::to_string(first + fds.size()) + " of " +
                       address_.to_string());
  }
  return {};
}

Status VfioDevice::disable_irqs(IrqIndex index) const {
  vfio_irq_set set{};
  set.argsz = sizeof(set);
  set.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
  set.index = static_cast<uint32_t>(index);
  set.start = 0;
  set.count = 0;
  if (::ioctl(fd_.get(), VFIO_DEVICE_SET_IRQS, &set) != 0) {
    return errno_error(std::string("disable ") + to_string(index) + " of " + address_.to_string());
  }
  return {};
}

Status VfioDevice::unmask_intx() const {
  vfio_irq_set set{};
  set.argsz = sizeof(set);
  set.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK;
  set.index = VFIO_PCI_INTX_IRQ_INDEX;
  set.start = 0;
  set.count = 1;
  if (::ioctl(fd_.get(), VFIO_DEVICE_SET_IRQS, &set) != 0) {
    return errno_error("unmask INTx of " + address_.to_string());
  }
  return {};
}

Status VfioDevice::reset() const {
  if (!info_.supports_reset()) {
    return Error(ENOTSUP, "PCI device " + address_.to_string() +
                              " cannot be reset through VFIO (no function-level, PM or bus "
                              "reset the kernel can use for it alone)");
  }
  if (::ioctl(fd_.get(), VFIO_DEVICE_RESET) != 0) {
    return errno_error("reset PCI device " + address_.to_string());
  }
  return {};
}

}  // namespace ringlane::vfio
