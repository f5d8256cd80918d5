#include "ringlane/sriov/netlink_message.h"

#include <linux/netlink.h>

#include <cerrno>

namespace ringlane::sriov {

NetlinkMessageBuilder::NetlinkMessageBuilder(uint16_t type, uint16_t flags, uint32_t sequence) {
  nlmsghdr header{};
  header.nlmsg_type = type;
  header.nlmsg_flags = flags;
  header.nlmsg_seq = sequence;
  // nlmsg_pid 0: the kernel knows the sender by its socket.
  append(&header, sizeof(header));
}

void NetlinkMessageBuilder::append(const void* data, size_t size) {
  const auto* p = static_cast<const uint8_t*>(data);
  bytes_.insert(bytes_.end(), p, p + size);
}

void NetlinkMessageBuilder::pad() {
  bytes_.resize(NLMSG_ALIGN(bytes_.size()), 0);
}

void NetlinkMessageBuilder::put_attribute(uint16_t type, const void* data, size_t size) {
  pad();
  nlattr attr{};
  attr.nla_len = static_cast<uint16_t>(NLA_HDRLEN + size);
  attr.nla_type = type;
  append(&attr, sizeof(attr));
  if (size != 0) append(data, size);
  pad();
}

size_t NetlinkMessageBuilder::begin_nested(uint16_t type) {
  pad();
  size_t start = bytes_.size();
  nlattr attr{};
  attr.nla_type = static_cast<uint16_t>(type | NLA_F_NESTED);
  append(&attr, sizeof(attr));
  return start;
}

void NetlinkMessageBuilder::end_nested(size_t start) {
  pad();
  auto length = static_cast<uint16_t>(bytes_.size() - start);
  std::memcpy(bytes_.data() + start + offsetof(nlattr, nla_len), &length, sizeof(length));
}

Bytes NetlinkMessageBuilder::finish() && {
  pad();
  auto length = static_cast<uint32_t>(bytes_.size());
  std::memcpy(bytes_.data() + offsetof(nlmsghdr, nlmsg_len), &length, sizeof(length));
  return std::move(bytes_);
}

Result<std::vector<NetlinkMessageView>> split_messages(ByteView buffer) {
  std::vector<NetlinkMessageView> messages;
  size_t offset = 0;
  while (offset < buffer.size()) {
    size_t left = buffer.size() - offset;
    if (left < sizeof(nlmsghdr)) {
      return Error(EPROTO, "netlink message at offset " + std::to_string(offset) + " has only " +
                               std::to_string(left) + " bytes, less than its header");
    }
    nlmsghdr header;
    std::memcpy(&header, buffer.data() + offset, sizeof(header));
    if (header.nlmsg_len < sizeof(nlmsghdr) || header.nlmsg_len > left) {
      return Error(EPROTO, "netlink message at offset " + std::to_string(offset) +
                               " claims length " + std::to_string(header.nlmsg_len) + " with " +
                               std::to_string(left) + " bytes left");
    }
    NetlinkMessageView m;
    m.type = header.nlmsg_type;
    m.flags = header.nlmsg_flags;
    m.sequence = header.nlmsg_seq;
    m.port_id = header.nlmsg_pid;
    m.payload = buffer.subspan(offset + sizeof(nlmsghdr), header.nlmsg_len - sizeof(nlmsghdr));
    messages.push_back(m);
    // The last message's padding may be missing.
    offset += std::min<size_t>(NLMSG_ALIGN(header.nlmsg_len), left);
  }
  return messages;
}

Result<std::vector<NetlinkAttributeView>> split_attributes(ByteView buffer, const char* what) {
  std::vector<NetlinkAttributeView> attributes;
  size_t offset = 0;
  while (offset < buffer.size()) {
    size_t left = buffer.size() - offset;
    if (left < NLA_HDRLEN) {
      return Error(EPROTO, std::string(what) + ": " + std::to_string(left) +
                               " trailing bytes, less than an attribute header");
    }
    nlattr attr;
    std::memcpy(&attr, buffer.data() + offset, sizeof(attr));
    if (attr.nla_len < NLA_HDRLEN || attr.nla_len > left) {
      return Error(EPROTO, std::string(what) + ": attribute " +
                               std::to_string(attr.nla_type & NLA_TYPE_MASK) + " at offset " +
                               std::to_string(offset) + " claims length " +
                               std::to_string(attr.nla_len) + " with " + std::to_string(left) +
                               " bytes left");
    }
    attributes.push_back(
        NetlinkAttributeView{static_cast<uint16_t>(attr.nla_type & NLA_TYPE_MASK),
                             buffer.subspan(offset + NLA_HDRLEN, attr.nla_len - NLA_HDRLEN)});
    offset += std::min<size_t>(NLA_ALIGN(attr.nla_len), left);
  }
  return attributes;
}

}  // namespace ringlane::sriov
