// The vhost-user request table (request_table.h): one row for each request of the spec (QEMU
// docs/interop/vhost-user.rst) that ringlane knows of, whether it implements the request or not.
#include "ringlane/vhost_user/request_table.h"

#include "ringlane/vhost_user/backend.h"

namespace ringlane::vhost_user {

// A friend of VhostUserBackend, so that its rows can name the backend's private handlers.
std::span<const RequestInfo> request_table() {
  using enum Request;
  using B = VhostUserBackend;
  using P = Payload;
  using A = Answer;
  static constexpr RequestInfo kTable[] = {
      // request, name, payload, fds (fewest, most), answer, handler
      {get_features, "GET_FEATURES", P::none, 0, 0, A::u64, &B::get_features},
      {set_features, "SET_FEATURES", P::u64, 0, 0, A::ack, &B::set_features},
      {set_owner, "SET_OWNER", P::none, 0, 0, A::ack, &B::set_owner},
      // As RESET_DEVICE: frontends without that protocol feature send this instead.
      {reset_owner, "RESET_OWNER", P::none, 0, 0, A::ack, &B::reset_device},
      {set_mem_table, "SET_MEM_TABLE", P::mem_table, 1, kMemTableRegions, A::ack,
       &B::set_mem_table},
      // Offered by devices that log for migration (NetDevice, LOG_SHMFD). QEMU waits for a reply
      // without payload whether or not it asked for one: the answer is an empty payload.
      {set_log_base, "SET_LOG_BASE", P::log, 1, 1, A::payload, &B::set_log_base},
      {set_log_fd, "SET_LOG_FD", P::unsupported, 0, 0, A::ack, nullptr},
      {set_vring_num, "SET_VRING_NUM", P::vring_state, 0, 0, A::ack, &B::set_vring_num},
      {set_vring_addr, "SET_VRING_ADDR", P::vring_addr, 0, 0, A::ack, &B::set_vring_addr},
      {set_vring_base, "SET_VRING_BASE", P::vring_state, 0, 0, A::ack, &B::set_vring_base},
      {get_vring_base, "GET_VRING_BASE", P::vring_state, 0, 0, A::vring_state, &B::get_vring_base},
      {set_vring_kick, "SET_VRING_KICK", P::vring_fd, 0, 1, A::ack, &B::set_vring_kick},
      {set_vring_call, "SET_VRING_CALL", P::vring_fd, 0, 1, A::ack, &B::set_vring_call},
      {set_vring_err, "SET_VRING_ERR", P::vring_fd, 0, 1, A::ack, &B::set_vring_err},
      {get_protocol_features, "GET_PROTOCOL_FEATURES", P::none, 0, 0, A::u64,
       &B::get_protocol_features},
      {set_protocol_features, "SET_PROTOCOL_FEATURES", P::u64, 0, 0, A::ack,
       &B::set_protocol_features},
      {get_queue_num, "GET_QUEUE_NUM", P::none, 0, 0, A::u64, &B::get_queue_num},
      {set_vring_enable, "SET_VRING_ENABLE", P::vring_state, 0, 0, A::ack, &B::set_vring_enable},
      {send_rarp, "SEND_RARP", P::unsupported, 0, 0, A::ack, nullptr},
      // The device's own (NetDevice); a backend of another kind refuses it.
      {net_set_mtu, "NET_SET_MTU", P::u64, 0, 0, A::ack, &B::device_request},
      // The channel for the backend's own requests (BACKEND_REQ): configuration changes.
      {set_backend_req_fd, "SET_BACKEND_REQ_FD", P::none, 1, 1, A::ack, &B::set_backend_req_fd},
      {iotlb_msg, "IOTLB_MSG", P::unsupported, 0, 0, A::ack, nullptr},
      {set_vring_endian, "SET_VRING_ENDIAN", P::unsupported, 0, 0, A::ack, nullptr},
      // Devices with a configuration space answer them (BlkDevice); others refuse.
      {get_config, "GET_CONFIG", P::config, 0, 0, A::payload, &B::get_config},
      {set_config, "SET_CONFIG", P::config, 0, 0, A::ack, &B::set_config},
      // Offered by devices that track in-flight requests (BlkDevice, INFLIGHT_SHMFD).
      {get_inflight_fd, "GET_INFLIGHT_FD", P::inflight, 0, 0, A::payload, &B::get_inflight_fd},
      {set_inflight_fd, "SET_INFLIGHT_FD", P::inflight, 1, 1, A::ack, &B::set_inflight_fd},
      {reset_device, "RESET_DEVICE", P::none, 0, 0, A::ack, &B::reset_device},
      {vring_kick, "VRING_KICK", P::unsupported, 0, 0, A::ack, nullptr},
      {get_max_mem_slots, "GET_MAX_MEM_SLOTS", P::none, 0, 0, A::u64, &B::get_max_mem_slots},
      {add_mem_reg, "ADD_MEM_REG", P::mem_region, 1, 1, A::ack, &B::add_mem_reg},
      // One fd or none: the region is found by its addresses, not by its file.
      {rem_mem_reg, "REM_MEM_REG", P::mem_region, 0, 1, A::ack, &B::rem_mem_reg},
      {set_status, "SET_STATUS", P::u64, 0, 0, A::ack, &B::set_status},
      {get_status, "GET_STATUS", P::none, 0, 0, A::u64, &B::get_status},
  };
  return kTable;
}

const RequestInfo* find_request(uint32_t code) {
  // A linear search: 34 rows, and every message has cost a system call already.
  for (const RequestInfo& row : request_table()) {
    if (static_cast<uint32_t>(row.request) == code) return &row;
  }
  return nullptr;
}

}  // namespace ringlane::vhost_user
