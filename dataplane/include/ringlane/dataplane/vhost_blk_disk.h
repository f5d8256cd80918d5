// VhostBlkDisk: a VM disk, served over vhost-user as a virtio-blk device from a backing image.
// The workers poll its queues beside the net ports' (the Engine spreads both over them).
#pragma once

#include <memory>
#include <string>

#include "ringlane/blk/blk_device.h"
#include "ringlane/blk/disk_image.h"
#include "ringlane/vhost_user/endpoint.h"

namespace ringlane::dataplane {

struct VhostBlkDiskConfig {
  std::string name;
  std::string socket_path;
  vhost_user::SocketMode socket_mode = vhost_user::SocketMode::server;
  uint16_t queues = 1;
  bool discard = true;
};

class VhostBlkDisk {
 public:
  // `fixed_file`: the image's first index among the fixed files of every worker's ring.
  VhostBlkDisk(const VhostBlkDiskConfig& config, blk::DiskImage image, int fixed_file,
               QuiescentState* grace, EventLoop& loop);

  Status start() { return endpoint_.start(); }
  void tick(vhost_user::VhostUserEndpoint::Clock::time_point now) { endpoint_.tick(now); }
  const std::string& name() const { return device_.name(); }
  blk::BlkDevice& device() { return device_; }
  const blk::BlkDevice& device() const { return device_; }
  const blk::DiskImage& image() const { return image_; }
  bool connected() const { return endpoint_.connected(); }
  const std::string& socket_path() const { return endpoint_.path(); }
  vhost_user::SocketMode socket_mode() const { return endpoint_.mode(); }
  // Disconnects the frontend (its requests in flight complete first) and stops listening (the
  // socket file is removed) or reconnecting: the disk is on its way out.
  void close(const std::string& why) { endpoint_.close(why); }
  // Reads the image's size again; when it changed, the disk takes the new capacity and the
  // guest is told (through the frontend). Returns whether it changed.
  Result<bool> refresh_capacity();

 private:
  blk::DiskImage image_;  // the control thread's: workers use its descriptors only
  blk::BlkDevice device_;
  vhost_user::VhostUserEndpoint endpoint_;
};

}  // namespace ringlane::dataplane
