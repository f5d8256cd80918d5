#include "ringlane/vhost_user/message.h"

#include <string>

#include "ringlane/vhost_user/request_table.h"

namespace ringlane::vhost_user {

const char* to_string(Request request) {
  const RequestInfo* info = find_request(static_cast<uint32_t>(request));
  return info != nullptr ? info->name : "UNKNOWN";
}

namespace {

Status expect(const Message& m, const RequestInfo& info, uint32_t size, size_t min_fds,
              size_t max_fds) {
  if (m.header.size != size) {
    return Error(EBADMSG, std::string(info.name) + ": payload of " + std::to_string(m.header.size) +
                              " bytes, expected " + std::to_string(size));
  }
  if (m.fds.size() < min_fds || m.fds.size() > max_fds) {
    return Error(EBADMSG, std::string(info.name) + ": " + std::to_string(m.fds.size()) +
                              " file descriptors, expected " + std::to_string(min_fds) +
                              (max_fds != min_fds ? "-" + std::to_string(max_fds) : ""));
  }
  return {};
}

// Kick/call/err: a u64 whose bit 8 says "no fd" (polling mode); without it, exactly one fd.
Status expect_vring_fd(const Message& m, const RequestInfo& info) {
  if (m.header.size != sizeof(uint64_t)) {
    return expect(m, info, sizeof(uint64_t), info.min_fds, info.max_fds);
  }
  size_t fds = (m.u64() & kVringNoFd) != 0 ? 0 : 1;
  return expect(m, info, sizeof(uint64_t), fds, fds);
}

// A count, then that many regions, each with its fd: the row's fd range bounds the count.
Status expect_mem_table(const Message& m, const RequestInfo& info) {
  std::string name = info.name;
  if (m.header.size < 8) return Error(EBADMSG, name + ": payload too short");
  uint32_t n = m.read<uint32_t>();
  if (n < info.min_fds || n > info.max_fds) {
    return Error(EBADMSG, name + ": " + std::to_string(n) + " regions (" +
                              std::to_string(info.min_fds) + "-" + std::to_string(info.max_fds) +
                              " allowed)");
  }
  // Some frontends send the whole 8-region array whatever the count.
  uint32_t need = 8 + n * sizeof(virtio::RegionDescriptor);
  uint32_t full = 8 + kMemTableRegions * sizeof(virtio::RegionDescriptor);
  if (m.header.size != need && m.header.size != full) {
    return Error(EBADMSG, name + ": payload size does not match region count");
  }
  if (m.fds.size() != n) {
    return Error(EBADMSG, name + ": " + std::to_string(m.fds.size()) + " file descriptors for " +
                              std::to_string(n) + " regions");
  }
  return {};
}

// A window of the configuration space: the header, then exactly the bytes it announces.
Status expect_config(const Message& m, const RequestInfo& info) {
  std::string name = info.name;
  if (m.header.size < sizeof(ConfigHeader)) return Error(EBADMSG, name + ": payload too short");
  auto config = m.read<ConfigHeader>();
  if (config.size > kMaxConfigSize || config.offset > kMaxConfigSize - config.size) {
    return Error(EBADMSG, name + ": window of " + std::to_string(config.size) +
                              " bytes at offset " + std::to_string(config.offset) +
                              " lies beyond " + std::to_string(kMaxConfigSize) + " bytes");
  }
  return expect(m, info, static_cast<uint32_t>(sizeof(ConfigHeader)) + config.size, info.min_fds,
                info.max_fds);
}

}  // namespace

Status validate(const Message& m) {
  if ((m.header.flags & kFlagVersionMask) != kVersion) {
    return Error(EPROTO,
                 "unsupported vhost-user version in flags " + std::to_string(m.header.flags));
  }
  if (m.header.size > kMaxPayload) return Error(EMSGSIZE, "payload too large");
  const RequestInfo* info = find_request(m.header.request);
  if (info == nullptr || info->payload == Payload::unsupported) {
    return Error(ENOSYS, std::string("unsupported request ") + to_string(m.request()) + " (" +
                             std::to_string(m.header.request) + ")");
  }
  switch (info->payload) {
    case Payload::vring_fd:
      return expect_vring_fd(m, *info);
    case Payload::mem_table:
      return expect_mem_table(m, *info);
    case Payload::config:
      return expect_config(m, *info);
    default:
      return expect(m, *info, payload_size(info->payload).value_or(0), info->min_fds,
                    info->max_fds);
  }
}

}  // namespace ringlane::vhost_user
