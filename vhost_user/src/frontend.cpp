#include "ringlane/vhost_user/frontend.h"

#include <poll.h>
#include <sys/socket.h>

#include <vector>

#include "ringlane/base/unix_socket.h"
#include "ringlane/virtio/spec.h"

namespace ringlane::vhost_user {

namespace {

// The protocol features the frontend uses when offered: acks make every request synchronous.
constexpr uint64_t kWantedProtocolFeatures = 1ULL << protocol::kReplyAck;

uint64_t vring_fd_payload(uint32_t index, int fd) {
  return fd < 0 ? (index | kVringNoFd) : index;
}

}  // namespace

Result<VhostUserFrontend> VhostUserFrontend::connect(const std::string& path) {
  Result<UniqueFd> fd = connect_unix(path);
  if (!fd.ok()) return fd.error();
  return VhostUserFrontend(MessageChannel(std::move(*fd)));
}

Error VhostUserFrontend::end(Error why) {
  if (!ended_) {
    ended_ = true;
    end_reason_ = why.message();
    // No more requests: the backend sees end-of-file after the ones it has.
    ::shutdown(channel_.fd(), SHUT_WR);
  }
  return why;
}

bool VhostUserFrontend::wait_readable(std::chrono::steady_clock::time_point deadline) const {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return false;
  pollfd p{channel_.fd(), POLLIN, 0};
  ::poll(&p, 1, static_cast<int>(left.count()));
  return true;
}

Result<Message> VhostUserFrontend::await_reply(Request r) {
  auto deadline = std::chrono::steady_clock::now() + timeout_;
  for (;;) {
    Result<std::optional<Message>> m = channel_.receive();
    if (!m.ok()) {
      backend_closed_ = true;
      return end(Error(m.error().code(), std::string("waiting for the answer to ") + to_string(r) +
                                             ": " + m.error().message()));
    }
    if (m->has_value()) {
      Message& reply = **m;
      if (reply.request() != r || (reply.header.flags & kFlagReply) == 0) {
        return end(Error(EPROTO, std::string("backend answered ") + to_string(reply.request()) +
                                     " to " + to_string(r)));
      }
      return std::move(reply);
    }
    if (!wait_readable(deadline)) {
      return end(Error(ETIMEDOUT, std::string("no answer from the backend to ") + to_string(r) +
                                      " within " + std::to_string(timeout_.count()) + " ms"));
    }
  }
}

bool VhostUserFrontend::release(std::chrono::milliseconds wait) {
  (void)end(Error(ECONNABORTED, "released by the frontend"));
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (!backend_closed_) {
    Result<std::optional<Message>> m = channel_.receive();
    if (!m.ok()) {
      backend_closed_ = true;
      break;
    }
    if (m->has_value()) continue;  // a late reply: its request was given up on
    if (!wait_readable(deadline)) return false;
  }
  return true;
}

Status VhostUserFrontend::request(Request r, const void* payload, uint32_t size, const int* fds,
                                  size_t fd_count) {
  if (ended_) return Error(ENOTCONN, "vhost-user connection ended: " + end_reason_);
  uint32_t flags = reply_ack() ? kFlagNeedReply : 0;
  if (Status s = channel_.send(r, flags, payload, size, fds, fd_count); !s.ok()) {
    return end(s.error());
  }
  if (!reply_ack()) return {};
  Result<Message> ack = await_reply(r);
  if (!ack.ok()) return ack.error();
  if (ack->header.size != sizeof(uint64_t) || ack->u64() != 0) {
    return Error(EIO, std::string("backend refused ") + to_string(r));
  }
  return {};
}

Result<Message> VhostUserFrontend::request_reply(Request r, const void* payload, uint32_t size) {
  if (ended_) return Error(ENOTCONN, "vhost-user connection ended: " + end_reason_);
  if (Status s = channel_.send(r, 0, payload, size); !s.ok()) return end(s.error());
  return await_reply(r);
}

Result<uint64_t> VhostUserFrontend::get_features() {
  Result<Message> m = request_reply(Request::get_features, nullptr, 0);
  if (!m.ok()) return m.error();
  if (m->header.size != sizeof(uint64_t)) return Error(EPROTO, "GET_FEATURES: bad reply size");
  backend_features_ = m->u64();
  if ((backend_features_ & virtio::bit(kFProtocolFeatures)) != 0) {
    Result<Message> p = request_reply(Request::get_protocol_features, nullptr, 0);
    if (!p.ok()) return p.error();
    if (p->header.size != sizeof(uint64_t)) {
      return Error(EPROTO, "GET_PROTOCOL_FEATURES: bad reply size");
    }
    uint64_t wanted = p->u64() & kWantedProtocolFeatures;
    // Without an ack of its own: REPLY_ACK is not on until the backend has this message.
    if (Status s = channel_.send(Request::set_protocol_features, 0, &wanted, sizeof(wanted));
        !s.ok()) {
      return end(s.error());
    }
    protocol_features_ = wanted;
  }
  return backend_features_ & ~virtio::bit(kFProtocolFeatures);
}

Status VhostUserFrontend::set_owner() {
  return request(Request::set_owner, nullptr, 0);
}

Status VhostUserFrontend::set_features(uint64_t features) {
  uint64_t f = features | (backend_features_ & virtio::bit(kFProtocolFeatures));
  return request(Request::set_features, &f, sizeof(f));
}

Status VhostUserFrontend::set_mem_table(const SharedRegion* regions, uint32_t count) {
  if (count == 0 || count > kMemTableRegions) {
    return Error(EINVAL, "SET_MEM_TABLE takes 1 to 8 regions");
  }
  // VhostUserMemory: region count, padding, then the regions.
  std::vector<uint8_t> payload(8 + count * sizeof(virtio::RegionDescriptor));
  std::memcpy(payload.data(), &count, sizeof(count));
  std::vector<int> fds;
  for (uint32_t i = 0; i < count; ++i) {
    virtio::RegionDescriptor d{regions[i].guest_phys_addr, regions[i].size, regions[i].user_addr,
                               regions[i].mmap_offset};
    std::memcpy(payload.data() + 8 + i * sizeof(d), &d, sizeof(d));
    fds.push_back(regions[i].fd);
  }
  return request(Request::set_mem_table, payload.data(), static_cast<uint32_t>(payload.size()),
                 fds.data(), fds.size());
}

Status VhostUserFrontend::start_vring(const FrontendVring& v) {
  VringState num{v.index, v.size};
  RINGLANE_TRY(request(Request::set_vring_num, &num, sizeof(num)));
  VringAddr addr{v.index, 0, v.desc_user_addr, v.used_user_addr, v.avail_user_addr, 0};
  RINGLANE_TRY(request(Request::set_vring_addr, &addr, sizeof(addr)));
  VringState base{v.index, v.next_avail};
  RINGLANE_TRY(request(Request::set_vring_base, &base, sizeof(base)));
  uint64_t call = vring_fd_payload(v.index, v.call_fd);
  RINGLANE_TRY(
      request(Request::set_vring_call, &call, sizeof(call), &v.call_fd, v.call_fd < 0 ? 0 : 1));
  uint64_t kick = vring_fd_payload(v.index, v.kick_fd);
  RINGLANE_TRY(
      request(Request::set_vring_kick, &kick, sizeof(kick), &v.kick_fd, v.kick_fd < 0 ? 0 : 1));
  if (protocol_features_ != 0 || (backend_features_ & virtio::bit(kFProtocolFeatures)) != 0) {
    VringState enable{v.index, 1};
    RINGLANE_TRY(request(Request::set_vring_enable, &enable, sizeof(enable)));
  }
  return {};
}

Result<uint16_t> VhostUserFrontend::stop_vring(uint32_t index) {
  VringState state{index, 0};
  Result<Message> m = request_reply(Request::get_vring_base, &state, sizeof(state));
  if (!m.ok()) return m.error();
  if (m->header.size != sizeof(VringState)) return Error(EPROTO, "GET_VRING_BASE: bad reply size");
  auto answer = m->read<VringState>();
  if (answer.index != index || answer.num > 0xffff) {
    return Error(EPROTO, "GET_VRING_BASE: answer for another ring or out of range");
  }
  return static_cast<uint16_t>(answer.num);
}

}  // namespace ringlane::vhost_user
