// RouteSocket: a NETLINK_ROUTE socket that sends one request at a time and collects its answer.
// Extended acks are on (the kernel explains refusals in words) and acks are capped (they do not
// echo the request back).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "ringlane/base/result.h"
#include "ringlane/base/unique_fd.h"
#include "ringlane/sriov/netlink_message.h"

namespace ringlane::sriov {

class RouteSocket {
 public:
  // Each receive waits at most `timeout` for the kernel.
  static Result<RouteSocket> open(std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // A fresh sequence number for the next request.
  uint32_t next_sequence() { return ++sequence_; }

  // Sends `request` (one message, built with a sequence number from next_sequence()) and
  // returns the data messages of its answer, concatenated as received: up to NLMSG_DONE for a
  // multi-part answer, up to the ack when the request asked for one (NLM_F_ACK), otherwise the
  // first answer. A refusal (NLMSG_ERROR with an error) becomes an Error named `what` carrying
  // the kernel's errno and extended-ack text. Messages of other sequence numbers (answers to
  // requests that timed out) are skipped.
  Result<Bytes> transact(const Bytes& request, const std::string& what);

 private:
  RouteSocket(UniqueFd fd, uint32_t port_id, std::chrono::milliseconds timeout)
      : fd_(std::move(fd)), port_id_(port_id), timeout_(timeout) {}

  Result<Bytes> receive_datagram(const std::string& what);

  UniqueFd fd_;
  uint32_t port_id_;
  std::chrono::milliseconds timeout_;
  uint32_t sequence_ = 0;
};

}  // namespace ringlane::sriov
