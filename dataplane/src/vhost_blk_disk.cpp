#include "ringlane/dataplane/vhost_blk_disk.h"

#include "ringlane/base/log.h"

namespace ringlane::dataplane {

namespace {

blk::BlkDeviceConfig device_config(const VhostBlkDiskConfig& c) {
  blk::BlkDeviceConfig d;
  d.name = c.name;
  d.queues = c.queues;
  d.discard = c.discard;
  return d;
}

}  // namespace

VhostBlkDisk::VhostBlkDisk(const VhostBlkDiskConfig& config, blk::DiskImage image, int fixed_file,
                           QuiescentState* grace, EventLoop& loop)
    : image_(std::move(image)),
      device_(device_config(config), image_, fixed_file, grace),
      endpoint_(config.socket_path, config.socket_mode, device_, loop) {}

Result<bool> VhostBlkDisk::refresh_capacity() {
  uint64_t before = image_.capacity_sectors();
  RINGLANE_TRY(image_.refresh_size());
  if (image_.capacity_sectors() == before) return false;
  device_.set_capacity(image_.capacity_sectors());
  log_line(LogLevel::info, name() + ": capacity " + std::to_string(before) + " -> " +
                               std::to_string(image_.capacity_sectors()) + " sectors");
  if (connected()) {
    if (Status s = device_.notify_config_change(); !s.ok()) {
      log_line(LogLevel::warn,
               name() + ": guest not told of the new capacity: " + s.error().message());
    }
  }
  return true;
}

}  // namespace ringlane::dataplane
