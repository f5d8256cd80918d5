// The rtnetlink messages that read and change a PF's virtual functions, as pure functions on
// byte buffers (no socket): RTM_GETLINK with the VF information asked for and its answer parsed
// into VfSettings per VF, RTM_SETLINK with one VF's changes, and NLMSG_ERROR with the kernel's
// extended ack. The socket that carries them is RouteSocket.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ringlane/base/result.h"
#include "ringlane/sriov/netlink_message.h"
#include "ringlane/sriov/vf_settings.h"

namespace ringlane::sriov {

// RTM_GETLINK for the link `ifindex`, IFLA_EXT_MASK = RTEXT_FILTER_VF | RTEXT_FILTER_SKIP_STATS:
// the VF list without the per-VF counters, which nothing here reads. Without them a VF takes
// about 200 bytes instead of 300, and the whole list must fit IFLA_VFINFO_LIST's 16-bit length:
// about 330 VFs instead of 220.
Bytes build_get_vfs_request(uint32_t sequence, int ifindex);

// RTM_SETLINK (NLM_F_ACK) on the PF `pf_ifindex`: IFLA_VFINFO_LIST > IFLA_VF_INFO > one
// attribute per field present in `change` (IFLA_VF_MAC, IFLA_VF_VLAN_LIST > IFLA_VF_VLAN_INFO,
// IFLA_VF_SPOOFCHK, IFLA_VF_TRUST, IFLA_VF_RATE, IFLA_VF_LINK_STATE). EINVAL for an empty change
// or values out of range (VLAN id above 4095, QoS above 7, a minimum rate above a non-zero
// maximum).
Result<Bytes> build_set_vf_request(uint32_t sequence, int pf_ifindex, uint32_t vf,
                                   const VfSettings& change);

// A link's VF information from an RTM_NEWLINK answer.
struct LinkVfs {
  int ifindex = 0;
  std::string name;                 // IFLA_IFNAME, empty if absent
  std::optional<uint32_t> num_vfs;  // IFLA_NUM_VF: absent for a device with no PCI parent
  std::vector<VfInfo> vfs;          // in the kernel's order (by VF index)
};

// The messages of a RTM_GETLINK answer (as received, one or more). Fails with the kernel's
// error if the answer is an NLMSG_ERROR, with EPROTO if the bytes are malformed or hold no
// RTM_NEWLINK.
Result<LinkVfs> parse_get_vfs_answer(ByteView answer);

// The contents of an NLMSG_ERROR message: an ack (code 0) or a refusal.
struct NetlinkError {
  int code = 0;                    // positive errno; 0 for an ack
  std::string kernel_message;      // NLMSGERR_ATTR_MSG, empty if the kernel gave none
  std::optional<uint32_t> offset;  // NLMSGERR_ATTR_OFFS: the offending attribute in the request
};

// `message` must be of type NLMSG_ERROR. An extended ack is read when NLM_F_ACK_TLVS says there
// is one, past the echoed request (or right after its header when NLM_F_CAPPED).
Result<NetlinkError> parse_error_message(const NetlinkMessageView& message);

// The Error a refused request becomes: "<what>: <kernel's text>" when the kernel explained,
// otherwise "<what>", with the errno (Error::to_string appends strerror).
Error to_error(const NetlinkError& refusal, const std::string& what);

}  // namespace ringlane::sriov
