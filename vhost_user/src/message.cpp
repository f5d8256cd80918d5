#include "ringlane/vhost_user/message.h"

#include <string>

namespace ringlane::vhost_user {

const char* to_string(Request request) {
  switch (request) {
    case Request::get_features:
      return "GET_FEATURES";
    case Request::set_features:
      return "SET_FEATURES";
    case Request::set_owner:
      return "SET_OWNER";
    case Request::reset_owner:
      return "RESET_OWNER";
    case Request::set_mem_table:
      return "SET_MEM_TABLE";
    case Request::set_log_base:
      return "SET_LOG_BASE";
    case Request::set_log_fd:
      return "SET_LOG_FD";
    case Request::set_vring_num:
      return "SET_VRING_NUM";
    case Request::set_vring_addr:
      return "SET_VRING_ADDR";
    case Request::set_vring_base:
      return "SET_VRING_BASE";
    case Request::get_vring_base:
      return "GET_VRING_BASE";
    case Request::set_vring_kick:
      return "SET_VRING_KICK";
    case Request::set_vring_call:
      return "SET_VRING_CALL";
    case Request::set_vring_err:
      return "SET_VRING_ERR";
    case Request::get_protocol_features:
      return "GET_PROTOCOL_FEATURES";
    case Request::set_protocol_features:
      return "SET_PROTOCOL_FEATURES";
    case Request::get_queue_num:
      return "GET_QUEUE_NUM";
    case Request::set_vring_enable:
      return "SET_VRING_ENABLE";
    case Request::send_rarp:
      return "SEND_RARP";
    case Request::net_set_mtu:
      return "NET_SET_MTU";
    case Request::set_backend_req_fd:
      return "SET_BACKEND_REQ_FD";
    case Request::iotlb_msg:
      return "IOTLB_MSG";
    case Request::set_vring_endian:
      return "SET_VRING_ENDIAN";
    case Request::get_config:
      return "GET_CONFIG";
    case Request::set_config:
      return "SET_CONFIG";
    case Request::get_inflight_fd:
      return "GET_INFLIGHT_FD";
    case Request::set_inflight_fd:
      return "SET_INFLIGHT_FD";
    case Request::reset_device:
      return "RESET_DEVICE";
    case Request::vring_kick:
      return "VRING_KICK";
    case Request::get_max_mem_slots:
      return "GET_MAX_MEM_SLOTS";
    case Request::add_mem_reg:
      return "ADD_MEM_REG";
    case Request::rem_mem_reg:
      return "REM_MEM_REG";
    case Request::set_status:
      return "SET_STATUS";
    case Request::get_status:
      return "GET_STATUS";
  }
  return "UNKNOWN";
}

namespace {

Status expect(const Message& m, uint32_t size, size_t min_fds, size_t max_fds) {
  if (m.header.size != size) {
    return Error(EBADMSG, std::string(to_string(m.request())) + ": payload of " +
                              std::to_string(m.header.size) + " bytes, expected " +
                              std::to_string(size));
  }
  if (m.fds.size() < min_fds || m.fds.size() > max_fds) {
    return Error(EBADMSG, std::string(to_string(m.request())) + ": " +
                              std::to_string(m.fds.size()) + " file descriptors, expected " +
                              std::to_string(min_fds) +
                              (max_fds != min_fds ? "-" + std::to_string(max_fds) : ""));
  }
  return {};
}

// Kick/call/err: a u64 whose bit 8 says "no fd" (polling mode).
Status expect_vring_fd(const Message& m) {
  if (m.header.size != sizeof(uint64_t)) return expect(m, sizeof(uint64_t), 0, 1);
  bool no_fd = (m.u64() & kVringNoFd) != 0;
  return expect(m, sizeof(uint64_t), no_fd ? 0 : 1, no_fd ? 0 : 1);
}

}  // namespace

Status validate(const Message& m) {
  if ((m.header.flags & kFlagVersionMask) != kVersion) {
    return Error(EPROTO,
                 "unsupported vhost-user version in flags " + std::to_string(m.header.flags));
  }
  if (m.header.size > kMaxPayload) return Error(EMSGSIZE, "payload too large");
  switch (m.request()) {
    case Request::get_features:
    case Request::set_owner:
    case Request::reset_owner:
    case Request::get_protocol_features:
    case Request::get_queue_num:
    case Request::get_max_mem_slots:
    case Request::get_status:
    case Request::reset_device:
      return expect(m, 0, 0, 0);
    case Request::set_features:
    case Request::set_protocol_features:
    case Request::net_set_mtu:
    case Request::set_status:
      return expect(m, sizeof(uint64_t), 0, 0);
    case Request::set_vring_num:
    case Request::set_vring_base:
    case Request::get_vring_base:
    case Request::set_vring_enable:
      return expect(m, sizeof(VringState), 0, 0);
    case Request::set_vring_addr:
      return expect(m, sizeof(VringAddr), 0, 0);
    case Request::set_vring_kick:
    case Request::set_vring_call:
    case Request::set_vring_err:
      return expect_vring_fd(m);
    case Request::set_mem_table: {
      if (m.header.size < 8) return Error(EBADMSG, "SET_MEM_TABLE: payload too short");
      uint32_t n = m.read<uint32_t>();
      if (n == 0 || n > kMemTableRegions) {
        return Error(EBADMSG, "SET_MEM_TABLE: " + std::to_string(n) + " regions (1-8 allowed)");
      }
      // Some frontends send the whole 8-region array whatever the count.
      uint32_t need = 8 + n * sizeof(virtio::RegionDescriptor);
      uint32_t full = 8 + kMemTableRegions * sizeof(virtio::RegionDescriptor);
      if (m.header.size != need && m.header.size != full) {
        return Error(EBADMSG, "SET_MEM_TABLE: payload size does not match region count");
      }
      if (m.fds.size() != n) {
        return Error(EBADMSG, "SET_MEM_TABLE: " + std::to_string(m.fds.size()) +
                                  " file descriptors for " + std::to_string(n) + " regions");
      }
      return {};
    }
    case Request::add_mem_reg:
      return expect(m, 8 + sizeof(virtio::RegionDescriptor), 1, 1);
    case Request::rem_mem_reg:
      return expect(m, 8 + sizeof(virtio::RegionDescriptor), 0, 1);
    default:
      return Error(ENOSYS, std::string("unsupported request ") + to_string(m.request()) + " (" +
                               std::to_string(m.header.request) + ")");
  }
}

}  // namespace ringlane::vhost_user
