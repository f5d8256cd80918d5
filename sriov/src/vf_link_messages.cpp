#include "ringlane/sriov/vf_link_messages.h"

#include <arpa/inet.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <climits>
#include <cstring>

namespace ringlane::sriov {
namespace {

// rtnl_fill_vfinfo reports "not supported by this driver" as all ones.
constexpr uint32_t kUnsupported = 0xffffffff;

ifinfomsg link_header(int ifindex) {
  ifinfomsg header;
  std::memset(&header, 0, sizeof(header));  // padding too: the bytes go to the kernel
  header.ifi_family = AF_UNSPEC;
  header.ifi_index = ifindex;
  return header;
}

template <typename T>
T zeroed() {
  T value;
  std::memset(&value, 0, sizeof(value));
  return value;
}

Error malformed(const std::string& what) {
  return Error(EPROTO, "malformed answer: " + what);
}

std::string attribute_string(ByteView payload) {
  const auto* begin = reinterpret_cast<const char*>(payload.data());
  return std::string(begin, strnlen(begin, payload.size()));
}

Result<VlanProtocol> vlan_protocol(uint16_t network_order) {
  uint16_t value = ntohs(network_order);
  if (value == static_cast<uint16_t>(VlanProtocol::dot1q)) return VlanProtocol::dot1q;
  if (value == static_cast<uint16_t>(VlanProtocol::dot1ad)) return VlanProtocol::dot1ad;
  return malformed("VLAN protocol 0x" + [value] {
    char text[8];
    std::snprintf(text, sizeof(text), "%04x", value);
    return std::string(text);
  }());
}

Result<bool> on_off(uint32_t setting, const char* what) {
  if (setting > 1) return malformed(std::string(what) + " setting " + std::to_string(setting));
  return setting == 1;
}

Result<VfInfo> parse_vf_info(ByteView payload) {
  auto attributes = split_attributes(payload, "IFLA_VF_INFO");
  if (!attributes.ok()) return malformed(attributes.error().message());
  VfInfo info;
  // Every structure in one IFLA_VF_INFO names its VF; they must agree.
  std::optional<uint32_t> index;
  auto same_vf = [&index](uint32_t vf) -> Status {
    if (index && *index != vf) {
      return malformed("one IFLA_VF_INFO names VF " + std::to_string(*index) + " and VF " +
                       std::to_string(vf));
    }
    index = vf;
    return {};
  };
  std::optional<VfVlan> listed_vlan;  // IFLA_VF_VLAN_LIST carries the protocol: it wins
  for (const auto& a : *attributes) {
    switch (a.type) {
      case IFLA_VF_MAC: {
        auto mac = read_struct<ifla_vf_mac>(a.payload, "IFLA_VF_MAC");
        if (!mac.ok()) return malformed(mac.error().message());
        RINGLANE_TRY(same_vf(mac->vf));
        MacAddress address;
        std::memcpy(address.bytes.data(), mac->mac, address.bytes.size());
        info.settings.mac = address;
        break;
      }
      case IFLA_VF_VLAN: {
        auto vlan = read_struct<ifla_vf_vlan>(a.payload, "IFLA_VF_VLAN");
        if (!vlan.ok()) return malformed(vlan.error().message());
        RINGLANE_TRY(same_vf(vlan->vf));
        if (vlan->vlan > 4095 || vlan->qos > 7) {
          return malformed("VLAN " + std::to_string(vlan->vlan) + " QoS " +
                           std::to_string(vlan->qos));
        }
        info.settings.vlan = VfVlan{static_cast<uint16_t>(vlan->vlan),
                                    static_cast<uint8_t>(vlan->qos), VlanProtocol::dot1q};
        break;
      }
      case IFLA_VF_VLAN_LIST: {
        auto entries = split_attributes(a.payload, "IFLA_VF_VLAN_LIST");
        if (!entries.ok()) return malformed(entries.error().message());
        for (const auto& e : *entries) {
          if (e.type != IFLA_VF_VLAN_INFO) continue;
          auto vlan = read_struct<ifla_vf_vlan_info>(e.payload, "IFLA_VF_VLAN_INFO");
          if (!vlan.ok()) return malformed(vlan.error().message());
          RINGLANE_TRY(same_vf(vlan->vf));
          if (vlan->vlan > 4095 || vlan->qos > 7) {
            return malformed("VLAN " + std::to_string(vlan->vlan) + " QoS " +
                             std::to_string(vlan->qos));
          }
          RINGLANE_ASSIGN_OR_RETURN(const VlanProtocol protocol, vlan_protocol(vlan->vlan_proto));
          // The kernel lists one VLAN per VF (MAX_VLAN_LIST_LEN); the first is the one.
          if (!listed_vlan) {
            listed_vlan = VfVlan{static_cast<uint16_t>(vlan->vlan), static_cast<uint8_t>(vlan->qos),
                                 protocol};
          }
        }
        break;
      }
      case IFLA_VF_SPOOFCHK: {
        auto s = read_struct<ifla_vf_spoofchk>(a.payload, "IFLA_VF_SPOOFCHK");
        if (!s.ok()) return malformed(s.error().message());
        RINGLANE_TRY(same_vf(s->vf));
        if (s->setting != kUnsupported) {
          RINGLANE_ASSIGN_OR_RETURN(info.settings.spoof_check, on_off(s->setting, "spoof check"));
        }
        break;
      }
      case IFLA_VF_TRUST: {
        auto t = read_struct<ifla_vf_trust>(a.payload, "IFLA_VF_TRUST");
        if (!t.ok()) return malformed(t.error().message());
        RINGLANE_TRY(same_vf(t->vf));
        if (t->setting != kUnsupported) {
          RINGLANE_ASSIGN_OR_RETURN(info.settings.trust, on_off(t->setting, "trust"));
        }
        break;
      }
      case IFLA_VF_RATE: {
        auto r = read_struct<ifla_vf_rate>(a.payload, "IFLA_VF_RATE");
        if (!r.ok()) return malformed(r.error().message());
        RINGLANE_TRY(same_vf(r->vf));
        info.settings.rate = VfRate{r->min_tx_rate, r->max_tx_rate};
        break;
      }
      case IFLA_VF_LINK_STATE: {
        auto l = read_struct<ifla_vf_link_state>(a.payload, "IFLA_VF_LINK_STATE");
        if (!l.ok()) return malformed(l.error().message());
        RINGLANE_TRY(same_vf(l->vf));
        if (l->link_state > IFLA_VF_LINK_STATE_DISABLE) {
          return malformed("VF link state " + std::to_string(l->link_state));
        }
        info.settings.link_state = static_cast<VfLinkState>(l->link_state);
        break;
      }
      default:
        // IFLA_VF_TX_RATE (the maximum again), IFLA_VF_BROADCAST, IFLA_VF_RSS_QUERY_EN,
        // IFLA_VF_STATS, GUIDs: nothing VfSettings holds.
        break;
    }
  }
  if (!index) return malformed("IFLA_VF_INFO without any VF structure");
  if (listed_vlan) info.settings.vlan = listed_vlan;
  info.index = *index;
  return info;
}

Result<LinkVfs> parse_link(ByteView payload) {
  auto header = read_struct<ifinfomsg>(payload, "RTM_NEWLINK's ifinfomsg");
  if (!header.ok()) return malformed(header.error().message());
  LinkVfs link;
  link.ifindex = header->ifi_index;
  auto attributes =
      split_attributes(payload.subspan(NLMSG_ALIGN(sizeof(ifinfomsg))), "RTM_NEWLINK");
  if (!attributes.ok()) return malformed(attributes.error().message());
  for (const auto& a : *attributes) {
    if (a.type == IFLA_IFNAME) {
      link.name = attribute_string(a.payload);
    } else if (a.type == IFLA_NUM_VF) {
      auto n = read_struct<uint32_t>(a.payload, "IFLA_NUM_VF");
      if (!n.ok()) return malformed(n.error().message());
      link.num_vfs = *n;
    } else if (a.type == IFLA_VFINFO_LIST) {
      auto entries = split_attributes(a.payload, "IFLA_VFINFO_LIST");
      if (!entries.ok()) return malformed(entries.error().message());
      for (const auto& e : *entries) {
        if (e.type != IFLA_VF_INFO) continue;
        RINGLANE_ASSIGN_OR_RETURN(const VfInfo info, parse_vf_info(e.payload));
        link.vfs.push_back(info);
      }
    }
  }
  return link;
}

}  // namespace

Bytes build_get_vfs_request(uint32_t sequence, int ifindex) {
  NetlinkMessageBuilder b(RTM_GETLINK, NLM_F_REQUEST, sequence);
  b.put_header(link_header(ifindex));
  b.put_attribute(IFLA_EXT_MASK, uint32_t{RTEXT_FILTER_VF | RTEXT_FILTER_SKIP_STATS});
  return std::move(b).finish();
}

Result<Bytes> build_set_vf_request(uint32_t sequence, int pf_ifindex, uint32_t vf,
                                   const VfSettings& change) {
  const std::string which = "VF " + std::to_string(vf) + ": ";
  if (change.empty()) return Error(EINVAL, which + "nothing to change");
  // The kernel keeps VF numbers in an int.
  if (vf >= INT_MAX) return Error(EINVAL, which + "no such VF number");
  if (change.vlan && change.vlan->id > 4095) {
    return Error(EINVAL, which + "VLAN " + std::to_string(change.vlan->id) + " is above 4095");
  }
  if (change.vlan && change.vlan->qos > 7) {
    return Error(EINVAL, which + "VLAN QoS " + std::to_string(change.vlan->qos) + " is above 7");
  }
  if (change.rate && change.rate->max_mbps != 0 && change.rate->min_mbps > change.rate->max_mbps) {
    return Error(EINVAL, which + "minimum rate " + std::to_string(change.rate->min_mbps) +
                             " Mbit/s is above the maximum " +
                             std::to_string(change.rate->max_mbps) + " Mbit/s");
  }

  NetlinkMessageBuilder b(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK, sequence);
  b.put_header(link_header(pf_ifindex));
  size_t list = b.begin_nested(IFLA_VFINFO_LIST);
  size_t info = b.begin_nested(IFLA_VF_INFO);
  // The kernel applies these in its own order and stops at the first the driver refuses, so a
  // refusal may leave the fields before it changed: callers that care keep the originals.
  if (change.mac) {
    auto mac = zeroed<ifla_vf_mac>();
    mac.vf = vf;
    std::memcpy(mac.mac, change.mac->bytes.data(), change.mac->bytes.size());
    b.put_attribute(IFLA_VF_MAC, mac);
  }
  if (change.vlan) {
    // The list form, not IFLA_VF_VLAN: only it carries the protocol (802.1ad).
    size_t vlans = b.begin_nested(IFLA_VF_VLAN_LIST);
    auto vlan = zeroed<ifla_vf_vlan_info>();
    vlan.vf = vf;
    vlan.vlan = change.vlan->id;
    vlan.qos = change.vlan->qos;
    vlan.vlan_proto = htons(static_cast<uint16_t>(change.vlan->protocol));
    b.put_attribute(IFLA_VF_VLAN_INFO, vlan);
    b.end_nested(vlans);
  }
  if (change.spoof_check) {
    auto s = zeroed<ifla_vf_spoofchk>();
    s.vf = vf;
    s.setting = *change.spoof_check ? 1 : 0;
    b.put_attribute(IFLA_VF_SPOOFCHK, s);
  }
  if (change.trust) {
    auto t = zeroed<ifla_vf_trust>();
    t.vf = vf;
    t.setting = *change.trust ? 1 : 0;
    b.put_attribute(IFLA_VF_TRUST, t);
  }
  if (change.rate) {
    auto r = zeroed<ifla_vf_rate>();
    r.vf = vf;
    r.min_tx_rate = change.rate->min_mbps;
    r.max_tx_rate = change.rate->max_mbps;
    b.put_attribute(IFLA_VF_RATE, r);
  }
  if (change.link_state) {
    auto l = zeroed<ifla_vf_link_state>();
    l.vf = vf;
    l.link_state = static_cast<uint32_t>(*change.link_state);
    b.put_attribute(IFLA_VF_LINK_STATE, l);
  }
  b.end_nested(info);
  b.end_nested(list);
  return std::move(b).finish();
}

Result<LinkVfs> parse_get_vfs_answer(ByteView answer) {
  auto messages = split_messages(answer);
  if (!messages.ok()) return malformed(messages.error().message());
  for (const auto& m : *messages) {
    if (m.type == NLMSG_ERROR) {
      RINGLANE_ASSIGN_OR_RETURN(const NetlinkError e, parse_error_message(m));
      if (e.code != 0) return to_error(e, "RTM_GETLINK");
    } else if (m.type == RTM_NEWLINK) {
      return parse_link(m.payload);
    }
  }
  return malformed("no RTM_NEWLINK message");
}

Result<NetlinkError> parse_error_message(const NetlinkMessageView& message) {
  // struct nlmsgerr: the error, then the request's header (and its payload unless capped).
  auto header = read_struct<nlmsgerr>(message.payload, "NLMSG_ERROR");
  if (!header.ok()) return malformed(header.error().message());
  NetlinkError result;
  // The kernel sends -errno; a positive or absurd value is not one.
  if (header->error > 0 || header->error < -4095) {
    return malformed("NLMSG_ERROR with error " + std::to_string(header->error));
  }
  result.code = -header->error;
  if (!(message.flags & NLM_F_ACK_TLVS)) return result;
  size_t skip = sizeof(nlmsgerr);
  if (!(message.flags & NLM_F_CAPPED)) {
    if (header->msg.nlmsg_len < sizeof(nlmsghdr)) {
      return malformed("NLMSG_ERROR echoes a request of length " +
                       std::to_string(header->msg.nlmsg_len));
    }
    skip += NLMSG_ALIGN(header->msg.nlmsg_len - sizeof(nlmsghdr));
  }
  if (skip > message.payload.size()) {
    return malformed("NLMSG_ERROR's echoed request runs past the message");
  }
  auto attributes = split_attributes(message.payload.subspan(skip), "NLMSG_ERROR's extended ack");
  if (!attributes.ok()) return malformed(attributes.error().message());
  for (const auto& a : *attributes) {
    if (a.type == NLMSGERR_ATTR_MSG) {
      result.kernel_message = attribute_string(a.payload);
    } else if (a.type == NLMSGERR_ATTR_OFFS) {
      auto offset = read_struct<uint32_t>(a.payload, "NLMSGERR_ATTR_OFFS");
      if (!offset.ok()) return malformed(offset.error().message());
      result.offset = *offset;
    }
  }
  return result;
}

Error to_error(const NetlinkError& refusal, const std::string& what) {
  if (refusal.kernel_message.empty()) return Error(refusal.code, what);
  return Error(refusal.code, what + ": " + refusal.kernel_message);
}

}  // namespace ringlane::sriov
