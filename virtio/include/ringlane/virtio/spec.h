// Virtio 1.2 constants and the split and packed ring layouts (little-endian x86 hosts only).
#pragma once

#include <cstdint>

namespace ringlane::virtio {

// Device-independent feature bits.
inline constexpr int kFRingIndirectDesc = 28;
inline constexpr int kFRingEventIdx = 29;
inline constexpr int kFVersion1 = 32;
inline constexpr int kFAccessPlatform = 33;
inline constexpr int kFRingPacked = 34;
inline constexpr int kFInOrder = 35;
inline constexpr int kFNotifyOnEmpty = 24;
inline constexpr int kFAnyLayout = 27;
// VHOST_F_LOG_ALL, vhost's bit in the same word: while acked, the device marks every page it
// writes in the frontend's dirty log (live migration).
inline constexpr int kVhostFLogAll = 26;

// virtio-net feature bits.
inline constexpr int kNetFCsum = 0;
inline constexpr int kNetFGuestCsum = 1;
inline constexpr int kNetFMtu = 3;
inline constexpr int kNetFMac = 5;
inline constexpr int kNetFGuestTso4 = 7;
inline constexpr int kNetFGuestTso6 = 8;
inline constexpr int kNetFGuestEcn = 9;
inline constexpr int kNetFGuestUfo = 10;
inline constexpr int kNetFHostTso4 = 11;
inline constexpr int kNetFHostTso6 = 12;
inline constexpr int kNetFHostEcn = 13;
inline constexpr int kNetFHostUfo = 14;
inline constexpr int kNetFMrgRxbuf = 15;
inline constexpr int kNetFStatus = 16;
inline constexpr int kNetFCtrlVq = 17;
inline constexpr int kNetFGuestAnnounce = 21;
inline constexpr int kNetFMq = 22;

inline constexpr uint64_t bit(int n) {
  return uint64_t{1} << n;
}

// Device status bits (GET/SET_STATUS).
inline constexpr uint8_t kStatusAcknowledge = 1;
inline constexpr uint8_t kStatusDriver = 2;
inline constexpr uint8_t kStatusDriverOk = 4;
inline constexpr uint8_t kStatusFeaturesOk = 8;
inline constexpr uint8_t kStatusNeedsReset = 64;
inline constexpr uint8_t kStatusFailed = 128;

// Split ring.
inline constexpr uint16_t kDescFNext = 1;
inline constexpr uint16_t kDescFWrite = 2;
inline constexpr uint16_t kDescFIndirect = 4;
inline constexpr uint16_t kAvailFNoInterrupt = 1;
inline constexpr uint16_t kUsedFNoNotify = 1;
inline constexpr uint32_t kMaxQueueSize = 32768;

struct VringDesc {
  uint64_t addr;
  uint32_t len;
  uint16_t flags;
  uint16_t next;
};
static_assert(sizeof(VringDesc) == 16);

struct VringAvail {
  uint16_t flags;
  uint16_t idx;
  uint16_t ring[];  // followed by uint16_t used_event when EVENT_IDX
};

struct VringUsedElem {
  uint32_t id;
  uint32_t len;
};

struct VringUsed {
  uint16_t flags;
  uint16_t idx;
  VringUsedElem ring[];  // followed by uint16_t avail_event when EVENT_IDX
};

inline constexpr uint64_t desc_table_bytes(uint32_t size) {
  return 16ull * size;
}
inline constexpr uint64_t avail_ring_bytes(uint32_t size) {
  return 6ull + 2ull * size;
}
inline constexpr uint64_t used_ring_bytes(uint32_t size) {
  return 6ull + 8ull * size;
}

// True when the other side asked to be notified for an index move from old_idx to new_idx.
inline bool vring_need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old_idx) {
  return static_cast<uint16_t>(new_idx - event_idx - 1) < static_cast<uint16_t>(new_idx - old_idx);
}

// Packed ring (virtio 1.2 section 2.8). NEXT, WRITE and INDIRECT keep their split-ring values;
// AVAIL and USED say whose a descriptor is, compared against a wrap counter that starts at 1
// and flips each time a side passes the end of the ring.
inline constexpr uint16_t kPackedDescFAvail = 1 << 7;
inline constexpr uint16_t kPackedDescFUsed = 1 << 15;
// The event suppression areas' flags: the reader of the area notifies always, never, or once
// the descriptor at `off_wrap` is passed (DESC, only with EVENT_IDX). 3 is reserved.
inline constexpr uint16_t kRingEventFlagsEnable = 0;
inline constexpr uint16_t kRingEventFlagsDisable = 1;
inline constexpr uint16_t kRingEventFlagsDesc = 2;
inline constexpr uint16_t kRingEventFlagsMask = 3;
// off_wrap: the descriptor offset in bits 0-14, its wrap counter in bit 15.
inline constexpr uint16_t kRingEventWrapBit = 1 << 15;
// A packed ring's size need not be a power of two; it is at most this.
inline constexpr uint32_t kMaxPackedQueueSize = 32768;

struct PackedDesc {
  uint64_t addr;
  uint32_t len;
  uint16_t id;  // the buffer id: in the last descriptor of a chain, and in a used descriptor
  uint16_t flags;
};
static_assert(sizeof(PackedDesc) == 16);

struct PackedEventSuppress {
  uint16_t off_wrap;
  uint16_t flags;
};
static_assert(sizeof(PackedEventSuppress) == 4);

inline constexpr uint64_t packed_ring_bytes(uint32_t size) {
  return 16ull * size;
}

// virtio-net header (virtio_net_hdr_mrg_rxbuf layout; 12 bytes with VERSION_1 or MRG_RXBUF).
inline constexpr uint8_t kNetHdrFNeedsCsum = 1;
inline constexpr uint8_t kNetHdrFDataValid = 2;
inline constexpr uint8_t kNetHdrGsoNone = 0;
inline constexpr uint8_t kNetHdrGsoTcpv4 = 1;
inline constexpr uint8_t kNetHdrGsoUdp = 3;
inline constexpr uint8_t kNetHdrGsoTcpv6 = 4;
inline constexpr uint8_t kNetHdrGsoEcn = 0x80;

struct NetHeader {
  uint8_t flags;
  uint8_t gso_type;
  uint16_t hdr_len;
  uint16_t gso_size;
  uint16_t csum_start;
  uint16_t csum_offset;
  uint16_t num_buffers;
};
static_assert(sizeof(NetHeader) == 12);

// Device types (virtio 1.2 section 5).
inline constexpr uint16_t kDeviceTypeNet = 1;

// virtio_net_config, as far as the devices here offer it: mac (NET_F_MAC), status
// (NET_F_STATUS), max_virtqueue_pairs (NET_F_MQ).
struct __attribute__((packed)) NetConfig {
  uint8_t mac[6];
  uint16_t status;
  uint16_t max_virtqueue_pairs;
};
static_assert(sizeof(NetConfig) == 10);
inline constexpr uint16_t kNetSLinkUp = 1;

}  // namespace ringlane::virtio
