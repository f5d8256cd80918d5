// Netlink messages as byte buffers: a builder that lays out the header, the family's fixed
// header and (nested) attributes with the 4-byte alignment the kernel expects, and bounds-checked
// readers for messages and attributes. The bytes read come from the kernel, but a reader never
// trusts a length it has not checked against the buffer: a malformed buffer gives an Error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "ringlane/base/result.h"

namespace ringlane::sriov {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

class NetlinkMessageBuilder {
 public:
  NetlinkMessageBuilder(uint16_t type, uint16_t flags, uint32_t sequence);

  // The family's fixed header (ifinfomsg for rtnetlink links), right after nlmsghdr.
  template <typename T>
  void put_header(const T& header) {
    static_assert(std::is_trivially_copyable_v<T>);
    append(&header, sizeof(T));
  }

  void put_attribute(uint16_t type, const void* data, size_t size);
  template <typename T>
  void put_attribute(uint16_t type, const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    put_attribute(type, &value, sizeof(T));
  }

  // Opens a nested attribute (NLA_F_NESTED set); returns where it starts, for end_nested.
  size_t begin_nested(uint16_t type);
  void end_nested(size_t start);

  // The message with nlmsg_len filled in.
  Bytes finish() &&;

 private:
  void append(const void* data, size_t size);
  void pad();

  Bytes bytes_;
};

struct NetlinkMessageView {
  uint16_t type = 0;
  uint16_t flags = 0;
  uint32_t sequence = 0;
  uint32_t port_id = 0;
  ByteView payload;  // after nlmsghdr, before the next message's alignment padding
};

// Every message in a datagram (or a concatenation of datagrams). A header whose length is
// shorter than the header or longer than what is left is an error.
Result<std::vector<NetlinkMessageView>> split_messages(ByteView buffer);

struct NetlinkAttributeView {
  uint16_t type = 0;  // NLA_F_NESTED and NLA_F_NET_BYTEORDER masked off
  ByteView payload;
};

// Every attribute in `buffer` (a message's payload past its fixed header, or a nested
// attribute's payload). `what` names the enclosing thing in error messages.
Result<std::vector<NetlinkAttributeView>> split_attributes(ByteView buffer, const char* what);

// A fixed-size structure at the start of `payload`; longer payloads are accepted (newer kernels
// append fields), shorter ones are an error naming `what`.
template <typename T>
Result<T> read_struct(ByteView payload, const char* what) {
  static_assert(std::is_trivially_copyable_v<T>);
  if (payload.size() < sizeof(T)) {
    return Error(EPROTO, std::string(what) + " is " + std::to_string(payload.size()) +
                             " bytes, expected at least " + std::to_string(sizeof(T)));
  }
  T value;
  std::memcpy(&value, payload.data(), sizeof(T));
  return value;
}

}  // namespace ringlane::sriov
