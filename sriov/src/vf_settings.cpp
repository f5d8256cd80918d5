#include "ringlane/sriov/vf_settings.h"

#include <cerrno>
#include <cstdio>

namespace ringlane::sriov {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// "'text' is not ...", built by appending: GCC 12 warns falsely (-Wrestrict) about
// "literal" + std::string temporaries.
Error not_a(std::string_view text, std::string_view what) {
  std::string message = "'";
  message += text;
  message += "' is not ";
  message += what;
  return Error(EINVAL, message);
}

}  // namespace

Result<MacAddress> MacAddress::parse(std::string_view text) {
  auto bad = [&] { return not_a(text, "a MAC address (xx:xx:xx:xx:xx:xx)"); };
  // Six pairs of hex digits and five colons.
  if (text.size() != 17) return bad();
  MacAddress mac;
  for (size_t i = 0; i < 6; ++i) {
    int high = hex_digit(text[i * 3]);
    int low = hex_digit(text[i * 3 + 1]);
    if (high < 0 || low < 0) return bad();
    if (i < 5 && text[i * 3 + 2] != ':') return bad();
    mac.bytes[i] = static_cast<uint8_t>(high * 16 + low);
  }
  return mac;
}

std::string MacAddress::to_string() const {
  char text[18];
  std::snprintf(text, sizeof(text), "%02x:%02x:%02x:%02x:%02x:%02x", bytes[0], bytes[1], bytes[2],
                bytes[3], bytes[4], bytes[5]);
  return text;
}

std::string_view to_string(VlanProtocol protocol) {
  return protocol == VlanProtocol::dot1ad ? "802.1ad" : "802.1Q";
}

Result<VlanProtocol> parse_vlan_protocol(std::string_view text) {
  if (equals_ignoring_case(text, "802.1Q")) return VlanProtocol::dot1q;
  if (equals_ignoring_case(text, "802.1ad")) return VlanProtocol::dot1ad;
  return not_a(text, "a VLAN protocol (802.1Q or 802.1ad)");
}

std::string_view to_string(VfLinkState state) {
  switch (state) {
    case VfLinkState::automatic:
      return "auto";
    case VfLinkState::enable:
      return "enable";
    case VfLinkState::disable:
      return "disable";
  }
  return "unknown";
}

Result<VfLinkState> parse_vf_link_state(std::string_view text) {
  if (text == "auto") return VfLinkState::automatic;
  if (text == "enable") return VfLinkState::enable;
  if (text == "disable") return VfLinkState::disable;
  return not_a(text, "a VF link state (auto, enable or disable)");
}

std::string describe(const VfSettings& s) {
  std::string out;
  auto add = [&out](std::string_view name, std::string_view value) {
    if (!out.empty()) out += ' ';
    out += name;
    out += ' ';
    out += value;
  };
  if (s.mac) add("mac", s.mac->to_string());
  if (s.vlan) {
    add("vlan", std::to_string(s.vlan->id));
    add("qos", std::to_string(s.vlan->qos));
    add("proto", to_string(s.vlan->protocol));
  }
  if (s.spoof_check) add("spoofchk", *s.spoof_check ? "on" : "off");
  if (s.trust) add("trust", *s.trust ? "on" : "off");
  if (s.rate) {
    add("min_tx_rate", std::to_string(s.rate->min_mbps));
    add("max_tx_rate", std::to_string(s.rate->max_mbps));
  }
  if (s.link_state) add("state", to_string(*s.link_state));
  return out.empty() ? "(nothing)" : out;
}

}  // namespace ringlane::sriov
