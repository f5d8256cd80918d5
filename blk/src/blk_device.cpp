#include "ringlane/blk/blk_device.h"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstring>
#include <thread>

#include "ringlane/base/log.h"
#include "ringlane/virtio/blk_spec.h"
#include "ringlane/virtio/feature_names.h"
#include "ringlane/virtio/spec.h"

namespace ringlane::blk {

uint64_t offered_blk_features(bool readonly, bool discard) {
  using namespace virtio;
  uint64_t f = bit(kFVersion1) | bit(kFRingIndirectDesc) | bit(kFRingEventIdx) | bit(kBlkFSizeMax) |
               bit(kBlkFSegMax) | bit(kBlkFBlkSize) | bit(kBlkFTopology) | bit(kBlkFFlush) |
               bit(kBlkFConfigWce) | bit(kBlkFMq);
  if (readonly) f |= bit(kBlkFRo);
  if (discard && !readonly) f |= bit(kBlkFDiscard) | bit(kBlkFWriteZeroes);
  return f;
}

std::string blk_feature_names(uint64_t bits) {
  using namespace virtio;
  static constexpr FeatureName kNames[] = {{kFVersion1, "version_1"},
                                           {kFRingIndirectDesc, "indirect"},
                                           {kFRingEventIdx, "event_idx"},
                                           {kBlkFSizeMax, "size_max"},
                                           {kBlkFSegMax, "seg_max"},
                                           {kBlkFRo, "ro"},
                                           {kBlkFBlkSize, "blk_size"},
                                           {kBlkFFlush, "flush"},
                                           {kBlkFTopology, "topology"},
                                           {kBlkFConfigWce, "config_wce"},
                                           {kBlkFMq, "mq"},
                                           {kBlkFDiscard, "discard"},
                                           {kBlkFWriteZeroes, "write_zeroes"}};
  return feature_names(bits, kNames);
}

namespace {

vhost_user::BackendConfig backend_config(const BlkDeviceConfig& c, const DiskImage& image) {
  using namespace vhost_user;
  BackendConfig b;
  b.name = c.name;
  b.features = offered_blk_features(image.readonly(), c.discard);
  b.protocol_features = kCommonProtocolFeatures | virtio::bit(protocol::kConfig) |
                        virtio::bit(protocol::kInflightShmfd) | virtio::bit(protocol::kBackendReq);
  b.vring_count = std::clamp<uint16_t>(c.queues, 1, BlkDevice::kMaxQueues);
  return b;
}

}  // namespace

BlkDevice::BlkDevice(const BlkDeviceConfig& config, const DiskImage& image, int fixed_file,
                     QuiescentState* grace)
    : VhostUserBackend(backend_config(config, image), grace),
      physical_block_(image.physical_block()) {
  settings_.capacity_sectors.store(image.capacity_sectors());
  settings_.readonly = image.readonly();
  settings_.discard = config.discard && !image.readonly();
  settings_.direct = image.direct();
  settings_.direct_alignment = image.logical_block();
  settings_.fixed_files = fixed_file >= 0;
  settings_.fixed_file = fixed_file >= 0 ? fixed_file : image.fd();
  settings_.fixed_buffered_file = fixed_file >= 0 ? fixed_file + 1 : image.buffered_fd();
  settings_.seg_max = DiskQueue::kMaxSegments;
  settings_.max_discard_seg = DiskQueue::kMaxOpsPerRequest;
  // GET_ID: the disk's name, as the guest shows it in /sys/block/vdX/serial.
  settings_.id_length =
      static_cast<uint8_t>(std::min<size_t>(config.name.size(), virtio::kBlkIdBytes));
  std::memcpy(settings_.id, config.name.data(), settings_.id_length);
  for (uint16_t i = 0; i < vring_count(); ++i) {
    vring(i).set_label(name() + " queue " + std::to_string(i));
    disk_queues_.push_back(std::make_unique<DiskQueue>(vring(i), settings_));
  }
}

virtio::BlkConfig BlkDevice::config_space() const {
  virtio::BlkConfig c{};
  c.capacity = settings_.capacity_sectors.load(std::memory_order_relaxed);
  c.size_max = 1u << 20;
  c.seg_max = settings_.seg_max;
  c.blk_size = settings_.direct_alignment;
  uint32_t ratio = std::max<uint32_t>(1, physical_block_ / c.blk_size);
  c.physical_block_exp = static_cast<uint8_t>(std::countr_zero(ratio));
  c.min_io_size = 1;
  c.opt_io_size = 0;
  c.writeback = settings_.writeback.load(std::memory_order_relaxed) ? 1 : 0;
  c.num_queues = vring_count();
  c.max_discard_sectors = settings_.max_discard_sectors;
  c.max_discard_seg = settings_.max_discard_seg;
  c.discard_sector_alignment = std::max<uint32_t>(1, physical_block_ / 512);
  c.max_write_zeroes_sectors = settings_.max_discard_sectors;
  c.max_write_zeroes_seg = settings_.max_discard_seg;
  c.write_zeroes_may_unmap = 1;
  return c;
}

Status BlkDevice::read_config(uint32_t offset, std::span<uint8_t> out) {
  virtio::BlkConfig c = config_space();
  // Bytes past the structure read as zero (the caller cleared the window).
  if (offset < sizeof(c)) {
    size_t n = std::min(out.size(), sizeof(c) - offset);
    std::memcpy(out.data(), reinterpret_cast<const uint8_t*>(&c) + offset, n);
  }
  return {};
}

Status BlkDevice::write_config(uint32_t offset, std::span<const uint8_t> bytes) {
  // The one field a driver may write: the cache mode (CONFIG_WCE).
  if (offset != virtio::kBlkConfigWritebackOffset || bytes.size() != 1) {
    return Error(EINVAL, "SET_CONFIG: only the writeback byte (offset " +
                             std::to_string(virtio::kBlkConfigWritebackOffset) +
                             ") is writable, not " + std::to_string(bytes.size()) +
                             " bytes at offset " + std::to_string(offset));
  }
  if (!(acked_features() & virtio::bit(virtio::kBlkFConfigWce))) {
    return Error(EPERM, "SET_CONFIG: writeback toggled without CONFIG_WCE negotiated");
  }
  if (bytes[0] > 1) return Error(EINVAL, "SET_CONFIG: writeback must be 0 or 1");
  settings_.writeback.store(bytes[0] == 1, std::memory_order_relaxed);
  log_line(LogLevel::info,
           name() + ": cache mode " + (bytes[0] == 1 ? "writeback" : "writethrough"));
  return {};
}

void BlkDevice::on_features(uint64_t acked) {
  // Without FLUSH the driver cannot ask for stability: every write must be stable (virtio 1.2
  // 5.2.5.1). With it, writeback until the driver says otherwise.
  settings_.writeback.store((acked & virtio::bit(virtio::kBlkFFlush)) != 0,
                            std::memory_order_relaxed);
}

BlkDevice::QueueResume BlkDevice::prepare_queue(uint16_t index, const virtio::RingLayout& layout,
                                                uint16_t base) {
  vhost_user::InflightQueue* region = inflight() != nullptr && index < inflight()->num_queues()
                                          ? inflight()->queue(index)
                                          : nullptr;
  uint16_t next_avail = disk_queues_[index]->prepare(layout, region, base);
  return {next_avail, disk_queues_[index]->resubmissions()};
}

void BlkDevice::drain_queues(uint64_t mask) {
  auto started = std::chrono::steady_clock::now();
  bool warned = false;
  for (uint16_t i = 0; i < vring_count(); ++i) {
    if (!(mask & (uint64_t{1} << i))) continue;
    while (disk_queues_[i]->in_flight() > 0) {
      if (!warned && std::chrono::steady_clock::now() - started > std::chrono::seconds(5)) {
        log_line(LogLevel::warn, name() + ": waiting for " +
                                     std::to_string(disk_queues_[i]->in_flight()) +
                                     " requests in flight on queue " + std::to_string(i));
        warned = true;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }
}

}  // namespace ringlane::blk
