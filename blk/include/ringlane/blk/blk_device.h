// BlkDevice: a virtio-blk device served over vhost-user. It owns the disk's settings and one
// DiskQueue per virtqueue; workers serve the queues, the control thread answers the frontend:
// features, the configuration space (GET_CONFIG/SET_CONFIG, including the driver's writeback
// toggle) and the stop/drain handshake that lets in-flight I/O finish before memory goes.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ringlane/blk/disk_image.h"
#include "ringlane/blk/disk_queue.h"
#include "ringlane/blk/disk_settings.h"
#include "ringlane/vhost_user/backend.h"

namespace ringlane::blk {

struct BlkDeviceConfig {
  std::string name = "disk";
  uint16_t queues = 1;
  bool discard = true;
};

// The virtio-blk features ringlane offers for a disk (RO for a read-only one, DISCARD and
// WRITE_ZEROES when enabled).
uint64_t offered_blk_features(bool readonly, bool discard);
// The virtio-blk feature bits of `bits` by name ("version_1 flush mq ..."), or "none".
std::string blk_feature_names(uint64_t bits);

class BlkDevice : public vhost_user::VhostUserBackend {
 public:
  static constexpr uint16_t kMaxQueues = 16;

  // `image` must stay open for the device's life; `fixed_file` is the image's first fixed-file
  // index in every worker's ring (the buffered descriptor is the next), or -1 for plain fds.
  BlkDevice(const BlkDeviceConfig& config, const DiskImage& image, int fixed_file,
            QuiescentState* grace);

  uint16_t queue_count() const { return vring_count(); }
  DiskQueue& disk_queue(uint16_t index) { return *disk_queues_[index]; }
  const DiskQueue& disk_queue(uint16_t index) const { return *disk_queues_[index]; }
  const DiskSettings& settings() const { return settings_; }
  // The configuration space as the driver would read it now.
  virtio::BlkConfig config_space() const;
  // A new capacity (the image was resized): workers check requests against it from now on.
  void set_capacity(uint64_t sectors) {
    settings_.capacity_sectors.store(sectors, std::memory_order_relaxed);
  }

 protected:
  Status read_config(uint32_t offset, std::span<uint8_t> out) override;
  Status write_config(uint32_t offset, std::span<const uint8_t> bytes) override;
  QueueResume prepare_queue(uint16_t index, const virtio::RingLayout& layout,
                            uint16_t base) override;
  void drain_queues(uint64_t mask) override;
  void on_features(uint64_t acked) override;

 private:
  DiskSettings settings_;
  uint32_t physical_block_;
  std::vector<std::unique_ptr<DiskQueue>> disk_queues_;
};

}  // namespace ringlane::blk
