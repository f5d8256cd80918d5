#include "ringlane/dataplane/vhost_blk_disk.h"

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

}  // namespace ringlane::dataplane
