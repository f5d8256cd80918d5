#include "ringlane/sriov/route_socket.h"

#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "ringlane/sriov/vf_link_messages.h"

namespace ringlane::sriov {

Result<RouteSocket> RouteSocket::open(std::chrono::milliseconds timeout) {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd) return errno_error("open a NETLINK_ROUTE socket");
  int on = 1;
  if (::setsockopt(fd.get(), SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof(on)) != 0) {
    return errno_error("turn on NETLINK_EXT_ACK");
  }
  if (::setsockopt(fd.get(), SOL_NETLINK, NETLINK_CAP_ACK, &on, sizeof(on)) != 0) {
    return errno_error("turn on NETLINK_CAP_ACK");
  }
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;  // nl_pid 0: the kernel picks a unique port id
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
    return errno_error("bind a NETLINK_ROUTE socket");
  }
  socklen_t length = sizeof(local);
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&local), &length) != 0) {
    return errno_error("getsockname of a NETLINK_ROUTE socket");
  }
  return RouteSocket(std::move(fd), local.nl_pid, timeout);
}

Result<Bytes> RouteSocket::receive_datagram(const std::string& what) {
  pollfd p{fd_.get(), POLLIN, 0};
  for (;;) {
    int ready = ::poll(&p, 1, static_cast<int>(timeout_.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return errno_error(what + ": poll the netlink socket");
    if (ready == 0) {
      return Error(ETIMEDOUT, what + ": no answer from the kernel within " +
                                  std::to_string(timeout_.count()) + " ms");
    }
    break;
  }
  // The answer's size first: a PF with many VFs answers with tens of kilobytes.
  ssize_t size;
  do {
    size = ::recv(fd_.get(), nullptr, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
  } while (size < 0 && errno == EINTR);
  if (size < 0) return errno_error(what + ": receive from the netlink socket");
  Bytes datagram(static_cast<size_t>(size));
  ssize_t got;
  do {
    got = ::recv(fd_.get(), datagram.data(), datagram.size(), MSG_DONTWAIT);
  } while (got < 0 && errno == EINTR);
  if (got < 0) return errno_error(what + ": receive from the netlink socket");
  datagram.resize(static_cast<size_t>(got));
  return datagram;
}

Result<Bytes> RouteSocket::transact(const Bytes& request, const std::string& what) {
  auto sent_messages = split_messages(request);
  if (!sent_messages.ok() || sent_messages->size() != 1) {
    return Error(EINVAL, what + ": the request is not one netlink message");
  }
  const NetlinkMessageView& sent = sent_messages->front();
  const bool wants_ack = (sent.flags & NLM_F_ACK) != 0;

  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  ssize_t n;
  do {
    n = ::sendto(fd_.get(), request.data(), request.size(), 0,
                 reinterpret_cast<const sockaddr*>(&kernel), sizeof(kernel));
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno_error(what + ": send to the netlink socket");
  if (static_cast<size_t>(n) != request.size()) {
    return Error(EMSGSIZE, what + ": the netlink socket took " + std::to_string(n) + " of " +
                               std::to_string(request.size()) + " bytes");
  }

  Bytes answer;
  for (;;) {
    RINGLANE_ASSIGN_OR_RETURN(const Bytes datagram, receive_datagram(what));
    auto messages = split_messages(datagram);
    if (!messages.ok()) return Error(EPROTO, what + ": " + messages.error().message());
    for (const auto& m : *messages) {
      if (m.sequence != sent.sequence || (m.port_id != 0 && m.port_id != port_id_)) continue;
      if (m.type == NLMSG_ERROR) {
        auto e = parse_error_message(m);
        if (!e.ok()) return Error(EPROTO, what + ": " + e.error().message());
        if (e->code != 0) return to_error(*e, what);
        return answer;  // the ack ends the answer
      }
      if (m.type == NLMSG_DONE) {
        // A dump's end; an error here (and its extended ack) reads like NLMSG_ERROR's int.
        if (m.payload.size() >= sizeof(int)) {
          int error;
          std::memcpy(&error, m.payload.data(), sizeof(error));
          if (error < 0) return Error(-error, what);
        }
        if (!wants_ack) return answer;
        continue;
      }
      if (m.type == NLMSG_NOOP || m.type == NLMSG_OVERRUN) continue;
      // A data message: keep it whole, header included, with its alignment padding.
      const uint8_t* begin = m.payload.data() - sizeof(nlmsghdr);
      size_t length = NLMSG_ALIGN(m.payload.size() + sizeof(nlmsghdr));
      length =
          std::min<size_t>(length, static_cast<size_t>(datagram.data() + datagram.size() - begin));
      answer.insert(answer.end(), begin, begin + length);
      if (!(m.flags & NLM_F_MULTI) && !wants_ack) return answer;
    }
  }
}

}  // namespace ringlane::sriov
