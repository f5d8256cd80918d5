#include "ringlane/sriov/vf_link_messages.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <cstring>

namespace ringlane::sriov {
namespace {

// Little-endian field writers for hand-built expectations (this host is x86).
void u16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v));
  b.push_back(static_cast<uint8_t>(v >> 8));
}
void u32(Bytes& b, uint32_t v) {
  u16(b, static_cast<uint16_t>(v));
  u16(b, static_cast<uint16_t>(v >> 16));
}
void zeros(Bytes& b, size_t n) {
  b.insert(b.end(), n, 0);
}
void attr_header(Bytes& b, uint16_t len, uint16_t type) {
  u16(b, len);
  u16(b, type);
}
void ifinfo(Bytes& b, int32_t index) {
  b.push_back(AF_UNSPEC);
  b.push_back(0);  // padding
  u16(b, 0);       // type
  u32(b, static_cast<uint32_t>(index));
  u32(b, 0);  // flags
  u32(b, 0);  // change
}
void nlmsg_header(Bytes& b, uint32_t len, uint16_t type, uint16_t flags, uint32_t seq) {
  u32(b, len);
  u16(b, type);
  u16(b, flags);
  u32(b, seq);
  u32(b, 0);
}
uint32_t read_u32(const Bytes& b, size_t at) {
  uint32_t v;
  std::memcpy(&v, b.data() + at, 4);
  return v;
}

MacAddress mac(const char* text) {
  return *MacAddress::parse(text);
}

TEST(VfLinkMessages, GetRequestAsksForVfInfoWithoutStatistics) {
  Bytes got = build_get_vfs_request(7, 3);
  Bytes want;
  nlmsg_header(want, 16 + 16 + 8, RTM_GETLINK, NLM_F_REQUEST, 7);
  ifinfo(want, 3);
  attr_header(want, 8, IFLA_EXT_MASK);
  u32(want, RTEXT_FILTER_VF | RTEXT_FILTER_SKIP_STATS);
  EXPECT_EQ(got, want);
}

TEST(VfLinkMessages, SetRequestWithMacOnly) {
  VfSettings change;
  change.mac = mac("02:11:22:33:44:55");
  auto got = build_set_vf_request(42, 5, 3, change);
  ASSERT_TRUE(got.ok()) << got.error().to_string();
  Bytes want;
  // header 16 + ifinfomsg 16 + VFINFO_LIST(4 + VF_INFO(4 + MAC(4 + 36)))
  nlmsg_header(want, 16 + 16 + 4 + 4 + 40, RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK, 42);
  ifinfo(want, 5);
  attr_header(want, 48, IFLA_VFINFO_LIST | NLA_F_NESTED);
  attr_header(want, 44, IFLA_VF_INFO | NLA_F_NESTED);
  attr_header(want, 40, IFLA_VF_MAC);
  u32(want, 3);
  for (uint8_t byte : {0x02, 0x11, 0x22, 0x33, 0x44, 0x55}) want.push_back(byte);
  zeros(want, 26);
  EXPECT_EQ(*got, want);
}

TEST(VfLinkMessages, SetRequestWithEveryField) {
  VfSettings change;
  change.mac = mac("52:54:00:ab:cd:ef");
  change.vlan = VfVlan{100, 5, VlanProtocol::dot1ad};
  change.spoof_check = false;
  change.trust = true;
  change.rate = VfRate{100, 2500};
  change.link_state = VfLinkState::disable;
  auto got = build_set_vf_request(1, 9, 2, change);
  ASSERT_TRUE(got.ok()) << got.error().to_string();

  Bytes body;  // IFLA_VF_INFO's contents
  attr_header(body, 40, IFLA_VF_MAC);
  u32(body, 2);
  for (uint8_t byte : {0x52, 0x54, 0x00, 0xab, 0xcd, 0xef}) body.push_back(byte);
  zeros(body, 26);
  attr_header(body, 4 + 20, IFLA_VF_VLAN_LIST | NLA_F_NESTED);
  attr_header(body, 20, IFLA_VF_VLAN_INFO);
  u32(body, 2);
  u32(body, 100);
  u32(body, 5);
  body.push_back(0x88);  // the protocol in network byte order
  body.push_back(0xa8);
  zeros(body, 2);  // the structure's tail padding
  attr_header(body, 12, IFLA_VF_SPOOFCHK);
  u32(body, 2);
  u32(body, 0);
  attr_header(body, 12, IFLA_VF_TRUST);
  u32(body, 2);
  u32(body, 1);
  attr_header(body, 16, IFLA_VF_RATE);
  u32(body, 2);
  u32(body, 100);
  u32(body, 2500);
  attr_header(body, 12, IFLA_VF_LINK_STATE);
  u32(body, 2);
  u32(body, IFLA_VF_LINK_STATE_DISABLE);

  Bytes want;
  nlmsg_header(want, static_cast<uint32_t>(16 + 16 + 8 + body.size()), RTM_SETLINK,
               NLM_F_REQUEST | NLM_F_ACK, 1);
  ifinfo(want, 9);
  attr_header(want, static_cast<uint16_t>(8 + body.size()), IFLA_VFINFO_LIST | NLA_F_NESTED);
  attr_header(want, static_cast<uint16_t>(4 + body.size()), IFLA_VF_INFO | NLA_F_NESTED);
  want.insert(want.end(), body.begin(), body.end());
  EXPECT_EQ(*got, want);
  EXPECT_EQ(got->size() % 4, 0u);
  EXPECT_EQ(read_u32(*got, 0), got->size());
}

TEST(VfLinkMessages, SetRequestRefusesWhatTheKernelWould) {
  EXPECT_EQ(build_set_vf_request(1, 1, 0, VfSettings{}).error().code(), EINVAL);
  VfSettings vlan;
  vlan.vlan = VfVlan{4096, 0, VlanProtocol::dot1q};
  auto r = build_set_vf_request(1, 1, 0, vlan);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "VF 0: VLAN 4096 is above 4095");
  vlan.vlan = VfVlan{1, 8, VlanProtocol::dot1q};
  EXPECT_FALSE(build_set_vf_request(1, 1, 0, vlan).ok());
  VfSettings rate;
  rate.rate = VfRate{200, 100};
  EXPECT_FALSE(build_set_vf_request(1, 1, 0, rate).ok());
  rate.rate = VfRate{200, 0};  // no maximum: any minimum
  EXPECT_TRUE(build_set_vf_request(1, 1, 0, rate).ok());
}

// An RTM_NEWLINK answer as rtnl_fill_vfinfo lays it out.
class Answer {
 public:
  explicit Answer(int ifindex) { ifinfo(body_, ifindex); }

  void name(const char* text) {
    size_t n = std::strlen(text) + 1;
    attr_header(body_, static_cast<uint16_t>(4 + n), IFLA_IFNAME);
    body_.insert(body_.end(), text, text + n);
    align(body_);
  }
  void num_vfs(uint32_t n) {
    attr_header(body_, 8, IFLA_NUM_VF);
    u32(body_, n);
  }
  // One IFLA_VF_INFO with the structures the kernel always sends.
  void vf(uint32_t index, const uint8_t (&address)[6], uint32_t vlan, uint32_t qos, uint16_t proto,
          uint32_t spoofchk, uint32_t trust, uint32_t min_rate, uint32_t max_rate,
          uint32_t link_state) {
    Bytes v;
    attr_header(v, 40, IFLA_VF_MAC);
    u32(v, index);
    v.insert(v.end(), address, address + 6);
    zeros(v, 26);
    attr_header(v, 36, IFLA_VF_BROADCAST);
    zeros(v, 32);
    attr_header(v, 16, IFLA_VF_VLAN);
    u32(v, index);
    u32(v, vlan);
    u32(v, qos);
    attr_header(v, 16, IFLA_VF_RATE);
    u32(v, index);
    u32(v, min_rate);
    u32(v, max_rate);
    attr_header(v, 12, IFLA_VF_TX_RATE);
    u32(v, index);
    u32(v, max_rate);
    attr_header(v, 12, IFLA_VF_SPOOFCHK);
    u32(v, index);
    u32(v, spoofchk);
    attr_header(v, 12, IFLA_VF_LINK_STATE);
    u32(v, index);
    u32(v, link_state);
    attr_header(v, 12, IFLA_VF_TRUST);
    u32(v, index);
    u32(v, trust);
    attr_header(v, 24, IFLA_VF_VLAN_LIST);
    attr_header(v, 20, IFLA_VF_VLAN_INFO);
    u32(v, index);
    u32(v, vlan);
    u32(v, qos);
    uint16_t be = htons(proto);
    v.push_back(static_cast<uint8_t>(be));
    v.push_back(static_cast<uint8_t>(be >> 8));
    zeros(v, 2);
    vfs_.push_back(v);
  }
  Bytes bytes() const {
    Bytes b = body_;
    if (!vfs_.empty()) {
      size_t total = 4;
      for (const auto& v : vfs_) total += 4 + v.size();
      attr_header(b, static_cast<uint16_t>(total), IFLA_VFINFO_LIST);
      for (const auto& v : vfs_) {
        attr_header(b, static_cast<uint16_t>(4 + v.size()), IFLA_VF_INFO);
        b.insert(b.end(), v.begin(), v.end());
      }
    }
    Bytes m;
    nlmsg_header(m, static_cast<uint32_t>(16 + b.size()), RTM_NEWLINK, 0, 1);
    m.insert(m.end(), b.begin(), b.end());
    return m;
  }

 private:
  static void align(Bytes& b) { b.resize((b.size() + 3) & ~size_t{3}, 0); }
  Bytes body_;
  std::vector<Bytes> vfs_;
};

TEST(VfLinkMessages, ParsesEveryVf) {
  Answer a(4);
  a.name("enp1s0f0");
  a.num_vfs(2);
  const uint8_t m0[6] = {0x02, 0, 0, 0, 0, 0x01};
  const uint8_t m1[6] = {0, 0, 0, 0, 0, 0};
  a.vf(0, m0, 10, 3, 0x8100, 1, 0, 0, 1000, IFLA_VF_LINK_STATE_AUTO);
  a.vf(1, m1, 20, 0, 0x88a8, 0xffffffff, 0xffffffff, 10, 0, IFLA_VF_LINK_STATE_ENABLE);
  auto link = parse_get_vfs_answer(a.bytes());
  ASSERT_TRUE(link.ok()) << link.error().to_string();
  EXPECT_EQ(link->ifindex, 4);
  EXPECT_EQ(link->name, "enp1s0f0");
  EXPECT_EQ(link->num_vfs, 2u);
  ASSERT_EQ(link->vfs.size(), 2u);

  const VfSettings& v0 = link->vfs[0].settings;
  EXPECT_EQ(link->vfs[0].index, 0u);
  EXPECT_EQ(v0.mac, mac("02:00:00:00:00:01"));
  EXPECT_EQ(v0.vlan, (VfVlan{10, 3, VlanProtocol::dot1q}));
  EXPECT_EQ(v0.spoof_check, true);
  EXPECT_EQ(v0.trust, false);
  EXPECT_EQ(v0.rate, (VfRate{0, 1000}));
  EXPECT_EQ(v0.link_state, VfLinkState::automatic);

  const VfSettings& v1 = link->vfs[1].settings;
  EXPECT_EQ(link->vfs[1].index, 1u);
  EXPECT_EQ(v1.vlan, (VfVlan{20, 0, VlanProtocol::dot1ad}));
  EXPECT_EQ(v1.spoof_check, std::nullopt) << "all ones means the driver does not say";
  EXPECT_EQ(v1.trust, std::nullopt);
  EXPECT_EQ(v1.link_state, VfLinkState::enable);
}

TEST(VfLinkMessages, DeviceWithoutVfsParsesToAnEmptyList) {
  Answer a(1);
  a.name("dummy0");
  auto link = parse_get_vfs_answer(a.bytes());
  ASSERT_TRUE(link.ok()) << link.error().to_string();
  EXPECT_EQ(link->name, "dummy0");
  EXPECT_EQ(link->num_vfs, std::nullopt);
  EXPECT_TRUE(link->vfs.empty());
}

TEST(VfLinkMessages, MalformedAnswersAreErrorsNotCrashes) {
  Answer a(4);
  a.num_vfs(1);
  const uint8_t m0[6] = {0x02, 0, 0, 0, 0, 0x01};
  a.vf(0, m0, 10, 3, 0x8100, 1, 0, 0, 1000, 0);
  const Bytes good = a.bytes();
  ASSERT_TRUE(parse_get_vfs_answer(good).ok());

  // Every truncation: an error (or, cut at an attribute boundary with the header adjusted, a
  // shorter answer), never a read past the end (ASan builds check that).
  for (size_t n = 0; n < good.size(); ++n) {
    Bytes cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    auto r = parse_get_vfs_answer(cut);
    EXPECT_FALSE(r.ok()) << "cut at " << n;
    if (n >= 16) {
      std::memcpy(cut.data(), &n, 4);  // the header agrees: the attributes do not
      (void)parse_get_vfs_answer(cut);
    }
  }
  // An attribute that claims more than there is.
  Bytes long_attr = good;
  size_t vfinfo_list = 16 + 16 + 8;  // after the header, ifinfomsg and IFLA_NUM_VF
  uint16_t too_long = 0xfff0;
  std::memcpy(long_attr.data() + vfinfo_list, &too_long, 2);
  auto r = parse_get_vfs_answer(long_attr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), EPROTO);
  EXPECT_NE(r.error().message().find("RTM_NEWLINK: attribute 22 at offset 8 claims length 65520"),
            std::string::npos)
      << r.error().message();
  // A length below the attribute header.
  Bytes short_attr = good;
  uint16_t three = 3;
  std::memcpy(short_attr.data() + vfinfo_list + 8, &three, 2);
  EXPECT_FALSE(parse_get_vfs_answer(short_attr).ok());
  // A VF structure shorter than the kernel's.
  Answer s(4);
  Bytes small = s.bytes();
  Bytes list;
  attr_header(list, 4 + 4 + 8, IFLA_VFINFO_LIST);
  attr_header(list, 4 + 8, IFLA_VF_INFO);
  attr_header(list, 8, IFLA_VF_MAC);
  u32(list, 0);
  small.insert(small.end(), list.begin(), list.end());
  uint32_t len = static_cast<uint32_t>(small.size());
  std::memcpy(small.data(), &len, 4);
  auto m = parse_get_vfs_answer(small);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message().find("IFLA_VF_MAC is 4 bytes"), std::string::npos)
      << m.error().message();
  // Nothing at all, and a message that is not RTM_NEWLINK.
  EXPECT_FALSE(parse_get_vfs_answer({}).ok());
  Bytes noop;
  nlmsg_header(noop, 16, NLMSG_NOOP, 0, 1);
  EXPECT_FALSE(parse_get_vfs_answer(noop).ok());
}

TEST(VfLinkMessages, StructuresNamingDifferentVfsInOneInfoAreRefused) {
  Answer a(4);
  const uint8_t m0[6] = {};
  a.vf(0, m0, 0, 0, 0x8100, 0, 0, 0, 0, 0);
  Bytes b = a.bytes();
  // The IFLA_VF_VLAN's vf field (after the MAC and the broadcast attributes).
  size_t vlan_vf = 16 + 16 + 4 + 4 + 40 + 36 + 4;
  uint32_t other = 1;
  std::memcpy(b.data() + vlan_vf, &other, 4);
  auto r = parse_get_vfs_answer(b);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("names VF 0 and VF 1"), std::string::npos)
      << r.error().message();
}

Bytes error_message(int error, uint16_t flags, const Bytes& echoed, const Bytes& tlvs) {
  Bytes b;
  nlmsg_header(b, static_cast<uint32_t>(16 + 4 + echoed.size() + tlvs.size()), NLMSG_ERROR, flags,
               9);
  u32(b, static_cast<uint32_t>(error));
  b.insert(b.end(), echoed.begin(), echoed.end());
  b.insert(b.end(), tlvs.begin(), tlvs.end());
  return b;
}

Bytes string_tlv(const char* text) {
  Bytes b;
  size_t n = std::strlen(text) + 1;
  attr_header(b, static_cast<uint16_t>(4 + n), NLMSGERR_ATTR_MSG);
  b.insert(b.end(), text, text + n);
  b.resize((b.size() + 3) & ~size_t{3}, 0);
  return b;
}

NetlinkError parse_error(const Bytes& b) {
  auto messages = split_messages(b);
  EXPECT_TRUE(messages.ok());
  auto e = parse_error_message(messages->front());
  EXPECT_TRUE(e.ok()) << e.error().to_string();
  return e.ok() ? *e : NetlinkError{};
}

TEST(VfLinkMessages, ErrorWithExtendedAckCarriesTheKernelsText) {
  Bytes capped_request;  // just the request's header
  nlmsg_header(capped_request, 80, RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK, 9);
  Bytes tlvs = string_tlv("VF does not support this");
  attr_header(tlvs, 8, NLMSGERR_ATTR_OFFS);
  u32(tlvs, 36);
  NetlinkError e =
      parse_error(error_message(-EOPNOTSUPP, NLM_F_CAPPED | NLM_F_ACK_TLVS, capped_request, tlvs));
  EXPECT_EQ(e.code, EOPNOTSUPP);
  EXPECT_EQ(e.kernel_message, "VF does not support this");
  EXPECT_EQ(e.offset, 36u);
  Error error = to_error(e, "set VF 0 of eth0");
  EXPECT_EQ(error.code(), EOPNOTSUPP);
  EXPECT_EQ(error.to_string(), "set VF 0 of eth0: VF does not support this: " +
                                   std::string(std::strerror(EOPNOTSUPP)));
}

TEST(VfLinkMessages, ErrorWithTheWholeRequestEchoedSkipsIt) {
  Bytes request;  // not capped: the request's payload follows its header
  nlmsg_header(request, 16 + 12, RTM_SETLINK, NLM_F_REQUEST, 9);
  zeros(request, 12);
  NetlinkError e =
      parse_error(error_message(-EINVAL, NLM_F_ACK_TLVS, request, string_tlv("Invalid VF number")));
  EXPECT_EQ(e.code, EINVAL);
  EXPECT_EQ(e.kernel_message, "Invalid VF number");
}

TEST(VfLinkMessages, ErrorWithoutExtendedAckFallsBackToStrerror) {
  Bytes request;
  nlmsg_header(request, 16, RTM_SETLINK, NLM_F_REQUEST, 9);
  NetlinkError e = parse_error(error_message(-EOPNOTSUPP, NLM_F_CAPPED, request, {}));
  EXPECT_EQ(e.code, EOPNOTSUPP);
  EXPECT_EQ(e.kernel_message, "");
  EXPECT_EQ(to_error(e, "set VF 0 of dummy0").to_string(),
            "set VF 0 of dummy0: " + std::string(std::strerror(EOPNOTSUPP)));
  NetlinkError ack = parse_error(error_message(0, NLM_F_CAPPED, request, {}));
  EXPECT_EQ(ack.code, 0);
}

TEST(VfLinkMessages, MalformedErrorsAreRefused) {
  Bytes request;
  nlmsg_header(request, 16 + 400, RTM_SETLINK, NLM_F_REQUEST, 9);  // echo claims 400 more bytes
  // The views split_messages returns point into this buffer: it must outlive them.
  const Bytes overlong = error_message(-EINVAL, NLM_F_ACK_TLVS, request, {});
  auto messages = split_messages(overlong);
  ASSERT_TRUE(messages.ok());
  EXPECT_FALSE(parse_error_message(messages->front()).ok());
  Bytes short_error;
  nlmsg_header(short_error, 20, NLMSG_ERROR, 0, 1);
  u32(short_error, static_cast<uint32_t>(-EINVAL));
  messages = split_messages(short_error);
  ASSERT_TRUE(messages.ok());
  EXPECT_FALSE(parse_error_message(messages->front()).ok());
  // The same error as the answer to a GETLINK: the kernel's errno, not a parse failure.
  Bytes capped;
  nlmsg_header(capped, 16, RTM_GETLINK, NLM_F_REQUEST, 9);
  auto r = parse_get_vfs_answer(error_message(-ENODEV, NLM_F_CAPPED, capped, {}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ENODEV);
}

TEST(VfSettings, TextForms) {
  EXPECT_EQ(mac("02:AB:cd:00:00:01").to_string(), "02:ab:cd:00:00:01");
  for (const char* bad :
       {"", "02:ab:cd:00:00", "02:ab:cd:00:00:0g", "02-ab-cd-00-00-01", "02:ab:cd:00:00:011"}) {
    EXPECT_FALSE(MacAddress::parse(bad).ok()) << bad;
  }
  EXPECT_EQ(*parse_vlan_protocol("802.1ad"), VlanProtocol::dot1ad);
  EXPECT_EQ(*parse_vlan_protocol("802.1q"), VlanProtocol::dot1q);
  EXPECT_FALSE(parse_vlan_protocol("qinq").ok());
  EXPECT_EQ(*parse_vf_link_state("disable"), VfLinkState::disable);
  EXPECT_FALSE(parse_vf_link_state("down").ok());
  VfSettings s;
  s.mac = mac("02:00:00:00:00:01");
  s.vlan = VfVlan{10, 0, VlanProtocol::dot1q};
  s.trust = true;
  EXPECT_EQ(describe(s), "mac 02:00:00:00:00:01 vlan 10 qos 0 proto 802.1Q trust on");
  EXPECT_EQ(describe(VfSettings{}), "(nothing)");
}

}  // namespace
}  // namespace ringlane::sriov
