// virtio-blk as the virtio 1.2 spec defines it (section 5.2): device type, feature bits, request
// types, status values and the layouts a driver writes. No I/O here; the device is in blk/.
#pragma once

#include <cstdint>

namespace ringlane::virtio {

inline constexpr uint16_t kDeviceTypeBlock = 2;

// Feature bits.
inline constexpr int kBlkFSizeMax = 1;
inline constexpr int kBlkFSegMax = 2;
inline constexpr int kBlkFGeometry = 4;
inline constexpr int kBlkFRo = 5;
inline constexpr int kBlkFBlkSize = 6;
inline constexpr int kBlkFFlush = 9;
inline constexpr int kBlkFTopology = 10;
inline constexpr int kBlkFConfigWce = 11;
inline constexpr int kBlkFMq = 12;
inline constexpr int kBlkFDiscard = 13;
inline constexpr int kBlkFWriteZeroes = 14;
inline constexpr int kBlkFLifetime = 15;

// Request types (virtio_blk_req.type).
inline constexpr uint32_t kBlkTIn = 0;
inline constexpr uint32_t kBlkTOut = 1;
inline constexpr uint32_t kBlkTFlush = 4;
inline constexpr uint32_t kBlkTGetId = 8;
inline constexpr uint32_t kBlkTGetLifetime = 10;
inline constexpr uint32_t kBlkTDiscard = 11;
inline constexpr uint32_t kBlkTWriteZeroes = 13;

// The status byte the device writes last.
inline constexpr uint8_t kBlkSOk = 0;
inline constexpr uint8_t kBlkSIoErr = 1;
inline constexpr uint8_t kBlkSUnsupp = 2;

// Sectors are 512 bytes whatever the device's block size.
inline constexpr uint64_t kBlkSectorSize = 512;
// GET_ID answers with at most this many bytes (no terminating NUL when it is this long).
inline constexpr uint32_t kBlkIdBytes = 20;

// The request header, device-readable, at the start of every chain.
struct BlkRequestHeader {
  uint32_t type;
  uint32_t ioprio;  // "reserved" in virtio 1.2
  uint64_t sector;
};
static_assert(sizeof(BlkRequestHeader) == 16);

// One range of a DISCARD or WRITE_ZEROES request; the data is an array of these.
struct BlkDiscardWriteZeroes {
  uint64_t sector;
  uint32_t num_sectors;
  uint32_t flags;  // bit 0: unmap (WRITE_ZEROES only)
};
static_assert(sizeof(BlkDiscardWriteZeroes) == 16);
inline constexpr uint32_t kBlkWriteZeroesFlagUnmap = 1;

// The device configuration space (virtio_blk_config), as far as ringlane fills it in.
#pragma pack(push, 1)
struct BlkConfig {
  uint64_t capacity;  // in 512-byte sectors
  uint32_t size_max;  // largest segment, bytes
  uint32_t seg_max;   // most data segments in a request
  uint16_t cylinders;
  uint8_t heads;
  uint8_t sectors;
  uint32_t blk_size;
  uint8_t physical_block_exp;
  uint8_t alignment_offset;
  uint16_t min_io_size;  // in blocks
  uint32_t opt_io_size;  // in blocks
  uint8_t writeback;     // 1 = writeback cache (FLUSH needed), 0 = writethrough
  uint8_t unused0;
  uint16_t num_queues;
  uint32_t max_discard_sectors;
  uint32_t max_discard_seg;
  uint32_t discard_sector_alignment;
  uint32_t max_write_zeroes_sectors;
  uint32_t max_write_zeroes_seg;
  uint8_t write_zeroes_may_unmap;
  uint8_t unused1[3];
};
#pragma pack(pop)
static_assert(sizeof(BlkConfig) == 60);
inline constexpr uint32_t kBlkConfigWritebackOffset = 32;

}  // namespace ringlane::virtio
