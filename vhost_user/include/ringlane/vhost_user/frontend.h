// VhostUserFrontend: the driver side of a vhost-user connection, as a VMM needs it: negotiate
// features, share guest memory, hand rings over (SET_VRING_*), and take them back with the
// position the backend stopped at (GET_VRING_BASE). Every call waits for the backend's answer
// (its reply, or a REPLY_ACK when negotiated), with a timeout, so the caller knows the backend
// has acted before it goes on.
//
// vhost-user has no way to cancel a request or to match a reply to it except by order, so a
// request left unanswered at the timeout ends the connection: nothing further is sent, and a late
// reply can never be taken for the answer to another request. release() then tells whether the
// backend has let go of the rings: a backend closes its end only after it stopped serving them
// (ringlane does; a backend that exits does), so its end-of-file is the proof.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "ringlane/base/result.h"
#include "ringlane/vhost_user/message.h"
#include "ringlane/vhost_user/message_channel.h"

namespace ringlane::vhost_user {

// One memory region to share: its guest physical range, where it is mapped in this process, and
// the fd (and offset in it) the backend maps.
struct SharedRegion {
  uint64_t guest_phys_addr;
  uint64_t size;
  uint64_t user_addr;
  uint64_t mmap_offset;
  int fd;
};

// One ring to hand over, with this process's addresses of its parts.
struct FrontendVring {
  uint32_t index;
  uint32_t size;
  uint64_t desc_user_addr;
  uint64_t avail_user_addr;
  uint64_t used_user_addr;
  uint16_t next_avail;
  int kick_fd;
  int call_fd;
};

class VhostUserFrontend {
 public:
  static constexpr std::chrono::milliseconds kTimeout{5000};

  // Connects to a backend listening on `path`.
  static Result<VhostUserFrontend> connect(const std::string& path);
  // Speaks over a connected socket (a socketpair in tests).
  static VhostUserFrontend adopt(UniqueFd fd) {
    return VhostUserFrontend(MessageChannel(std::move(fd)));
  }
  // How long each request waits for its answer (kTimeout unless changed).
  void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }

  // Connected, and every request so far answered: requests may be sent.
  bool usable() const { return !ended_; }
  // Why the connection ended (empty while it is usable).
  const std::string& end_reason() const { return end_reason_; }
  // Ends the connection (if it is not ended yet) and waits up to `wait` for the backend to close
  // its end, discarding late replies. True once it has: it no longer touches the rings. False
  // when it still holds the connection open (stopped or hung): the rings may still be in use.
  bool release(std::chrono::milliseconds wait);

  // GET_FEATURES (and protocol features when offered); SET_OWNER.
  Result<uint64_t> get_features();
  Status set_owner();
  // SET_FEATURES with `features` (PROTOCOL_FEATURES is added when the backend offered it).
  Status set_features(uint64_t features);
  Status set_mem_table(const SharedRegion* regions, uint32_t count);
  // NUM, ADDR, BASE, CALL, KICK, then ENABLE: the backend serves the ring when this returns.
  Status start_vring(const FrontendVring& vring);
  // GET_VRING_BASE: the backend stops the ring and says where the next avail entry is.
  Result<uint16_t> stop_vring(uint32_t index);

  bool reply_ack() const { return (protocol_features_ & (1ULL << protocol::kReplyAck)) != 0; }

 private:
  explicit VhostUserFrontend(MessageChannel channel) : channel_(std::move(channel)) {}
  // Sends a request without an answer of its own; waits for the ack when REPLY_ACK is on.
  Status request(Request r, const void* payload, uint32_t size, const int* fds = nullptr,
                 size_t fd_count = 0);
  // Sends a request that has an answer and returns the answer's payload as a u64 or VringState.
  Result<Message> request_reply(Request r, const void* payload, uint32_t size);
  Result<Message> await_reply(Request r);
  // Waits until the socket is readable or `deadline` passes; false once it has passed.
  bool wait_readable(std::chrono::steady_clock::time_point deadline) const;
  // The connection failed or a request went unanswered: stop using it.
  Error end(Error why);

  MessageChannel channel_;
  std::chrono::milliseconds timeout_ = kTimeout;
  bool ended_ = false;
  bool backend_closed_ = false;  // its end-of-file (or reset) was seen
  std::string end_reason_;
  uint64_t backend_features_ = 0;
  uint64_t protocol_features_ = 0;
};

}  // namespace ringlane::vhost_user
