// The one description of every vhost-user request: its code and name, the payload and file
// descriptors it must come with, whether the backend answers it with a payload of its own, and
// the backend's handler. to_string(), validate() and VhostUserBackend's dispatch all read the
// table (request_table.cpp), so supporting a request means filling in its row and its handler.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "ringlane/base/result.h"
#include "ringlane/vhost_user/message.h"

namespace ringlane::vhost_user {

class VhostUserBackend;

// What validate() requires of a request's payload.
enum class Payload : uint8_t {
  unsupported,  // a request we do not implement: ENOSYS, whatever it carries
  none,         // no payload at all
  u64,          // one u64
  vring_state,  // a VringState
  vring_addr,   // a VringAddr
  vring_fd,     // a u64 vring index whose bit 8 says "no fd"; without it exactly one fd comes
  mem_table,    // u32 count (1-8), u32 padding, count RegionDescriptors (or all 8), one fd each
  mem_region,   // u64 padding, then one RegionDescriptor
  config,       // a ConfigHeader, then exactly its `size` bytes (at most kMaxConfigSize)
  inflight,     // an InflightDescription
  log,          // a LogDescription
};

// The payload size a rule fixes; none for mem_table and config (their payloads say) or
// unsupported.
constexpr std::optional<uint32_t> payload_size(Payload payload) {
  switch (payload) {
    case Payload::none:
      return 0;
    case Payload::u64:
    case Payload::vring_fd:
      return sizeof(uint64_t);
    case Payload::vring_state:
      return sizeof(VringState);
    case Payload::vring_addr:
      return sizeof(VringAddr);
    case Payload::mem_region:
      return sizeof(uint64_t) + sizeof(virtio::RegionDescriptor);
    case Payload::inflight:
      return sizeof(InflightDescription);
    case Payload::log:
      return sizeof(LogDescription);
    case Payload::config:
    case Payload::mem_table:
    case Payload::unsupported:
      break;
  }
  return std::nullopt;
}

// How the backend answers a request it carried out.
enum class Answer : uint8_t {
  ack,          // nothing of its own: a REPLY_ACK when negotiated and asked for
  u64,          // a u64, and no REPLY_ACK besides (vhost-user spec)
  vring_state,  // a VringState, and no REPLY_ACK besides
  payload,      // the message's payload as the handler rewrote it (and the backend's reply fd)
};
// Every fixed answer is 8 bytes, so a handler can return it as a u64.
static_assert(sizeof(VringState) == sizeof(uint64_t));

// Handles a message validate() accepted. Returns the answer's bytes when the row has an answer
// of its own (for Answer::payload, the size of the payload it rewrote); otherwise the value is
// not sent.
using RequestHandler = Result<uint64_t> (VhostUserBackend::*)(Message&);

struct RequestInfo {
  Request request;
  const char* name;  // as the spec spells it, without VHOST_USER_
  Payload payload;
  // The fd counts accepted; vring_fd and mem_table narrow them further by what the payload says.
  uint8_t min_fds;
  uint8_t max_fds;
  Answer answer;
  RequestHandler handler;  // null exactly when the payload is unsupported
};

// Every request this module knows of, in code order.
std::span<const RequestInfo> request_table();
// The row for a request code, or null for a code the table lacks.
const RequestInfo* find_request(uint32_t code);

}  // namespace ringlane::vhost_user
