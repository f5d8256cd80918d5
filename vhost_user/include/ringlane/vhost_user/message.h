// vhost-user wire format (QEMU docs/interop/vhost-user.rst) and validation of untrusted messages.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include "ringlane/base/result.h"
#include "ringlane/base/unique_fd.h"
#include "ringlane/virtio/guest_memory.h"

namespace ringlane::vhost_user {

// The request codes; each has its row (name, payload rule, handler) in request_table.cpp.
enum class Request : uint32_t {
  get_features = 1,
  set_features = 2,
  set_owner = 3,
  reset_owner = 4,
  set_mem_table = 5,
  set_log_base = 6,
  set_log_fd = 7,
  set_vring_num = 8,
  set_vring_addr = 9,
  set_vring_base = 10,
  get_vring_base = 11,
  set_vring_kick = 12,
  set_vring_call = 13,
  set_vring_err = 14,
  get_protocol_features = 15,
  set_protocol_features = 16,
  get_queue_num = 17,
  set_vring_enable = 18,
  send_rarp = 19,
  net_set_mtu = 20,
  set_backend_req_fd = 21,
  iotlb_msg = 22,
  set_vring_endian = 23,
  get_config = 24,
  set_config = 25,
  get_inflight_fd = 31,
  set_inflight_fd = 32,
  reset_device = 34,
  vring_kick = 35,
  get_max_mem_slots = 36,
  add_mem_reg = 37,
  rem_mem_reg = 38,
  set_status = 39,
  get_status = 40,
};

// Requests the backend sends the frontend on the channel SET_BACKEND_REQ_FD gave it (their
// codes are their own, apart from the frontend's requests).
enum class BackendRequest : uint32_t {
  config_change = 2,  // the configuration space changed: the frontend reads it and tells the driver
};

// The request's name in the spec ("SET_MEM_TABLE"), or "UNKNOWN"; from request_table.h.
const char* to_string(Request request);

// Protocol feature bits (VHOST_USER_PROTOCOL_F_*).
namespace protocol {
inline constexpr int kMq = 0;
inline constexpr int kLogShmfd = 1;
inline constexpr int kReplyAck = 3;
inline constexpr int kMtu = 4;
inline constexpr int kBackendReq = 5;
inline constexpr int kConfig = 9;
inline constexpr int kInflightShmfd = 12;
inline constexpr int kResetDevice = 13;
inline constexpr int kConfigureMemSlots = 15;
inline constexpr int kStatus = 16;
}  // namespace protocol

// The virtio feature bit that says the backend speaks protocol features.
inline constexpr int kFProtocolFeatures = 30;

inline constexpr uint32_t kVersion = 0x1;
inline constexpr uint32_t kFlagVersionMask = 0x3;
inline constexpr uint32_t kFlagReply = 0x4;
inline constexpr uint32_t kFlagNeedReply = 0x8;
inline constexpr uint32_t kMaxPayload = 4096;
inline constexpr uint32_t kMaxFdsPerMessage = 8;  // VHOST_MEMORY_BASELINE_NREGIONS
inline constexpr uint32_t kMemTableRegions = 8;
inline constexpr uint64_t kVringIndexMask = 0xff;
inline constexpr uint64_t kVringNoFd = 0x100;

struct MessageHeader {
  uint32_t request;
  uint32_t flags;
  uint32_t size;
};
static_assert(sizeof(MessageHeader) == 12);

struct VringState {
  uint32_t index;
  uint32_t num;
};

struct VringAddr {
  uint32_t index;
  uint32_t flags;
  uint64_t desc_user_addr;
  uint64_t used_user_addr;
  uint64_t avail_user_addr;
  uint64_t log_guest_addr;
};
static_assert(sizeof(VringAddr) == 40);

// GET_CONFIG/SET_CONFIG: a window of the device's configuration space, then its bytes.
struct ConfigHeader {
  uint32_t offset;
  uint32_t size;
  uint32_t flags;  // SET_CONFIG: 0 = written by the driver, 1 = during live migration
};
static_assert(sizeof(ConfigHeader) == 12);
inline constexpr uint32_t kMaxConfigSize = 256;

// GET_INFLIGHT_FD/SET_INFLIGHT_FD: the shared buffer that tracks in-flight requests.
struct InflightDescription {
  uint64_t mmap_size;
  uint64_t mmap_offset;
  uint16_t num_queues;
  uint16_t queue_size;
  uint32_t padding;
};
static_assert(sizeof(InflightDescription) == 24);

// SET_LOG_BASE (with LOG_SHMFD): where the dirty log lies in the fd that comes with it.
struct LogDescription {
  uint64_t mmap_size;
  uint64_t mmap_offset;
};
static_assert(sizeof(LogDescription) == 16);
static_assert(sizeof(virtio::RegionDescriptor) == 32);

struct Message {
  MessageHeader header{};
  uint8_t payload[kMaxPayload]{};
  std::vector<UniqueFd> fds;

  Request request() const { return static_cast<Request>(header.request); }
  bool needs_reply() const { return (header.flags & kFlagNeedReply) != 0; }

  // Reads a fixed-size payload; validate() has checked the size.
  template <typename T>
  T read(uint32_t offset = 0) const {
    T value;
    std::memcpy(&value, payload + offset, sizeof(T));
    return value;
  }
  uint64_t u64() const { return read<uint64_t>(); }
  // The fd that came with the message, if exactly one did.
  UniqueFd take_fd() {
    if (fds.size() != 1) return UniqueFd();
    return std::move(fds[0]);
  }
};

// Checks payload size and fd count as the request's row in request_table.h says. Messages we do
// not implement fail with ENOSYS; malformed ones with EINVAL or EBADMSG. Never trusts a count
// without bounding it.
Status validate(const Message& message);

}  // namespace ringlane::vhost_user
