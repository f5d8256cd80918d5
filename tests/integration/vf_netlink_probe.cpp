// vf_netlink_probe: drives ringlane::sriov::VfLink from the command line for
// test_vf_netlink.py (ringlane-ctl, which will carry the real commands, lives elsewhere).
//   vf_netlink_probe show PF
//       the PF's VFs as JSON: {"ifindex", "name", "num_vfs" (null without SR-IOV), "vfs": [...]}
//   vf_netlink_probe set PF VF [mac M] [vlan N] [qos N] [proto 802.1Q|802.1ad]
//                              [spoofchk on|off] [trust on|off] [min_tx_rate N] [max_tx_rate N]
//                              [state auto|enable|disable]
// Exit status: 0 done, 1 refused (the reason on stderr), 2 bad command line.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ringlane/sriov/vf_link.h"
#include "ringlane/sriov/vf_settings_json.h"

namespace {

using namespace ringlane;
using namespace ringlane::sriov;

int usage(const std::string& why) {
  std::fprintf(stderr,
               "vf_netlink_probe: %s\nusage: vf_netlink_probe show PF\n"
               "       vf_netlink_probe set PF VF [mac M] [vlan N] [qos N] [proto P] "
               "[spoofchk on|off] [trust on|off] [min_tx_rate N] [max_tx_rate N] [state S]\n",
               why.c_str());
  return 2;
}

int refused(const Error& error) {
  std::fprintf(stderr, "vf_netlink_probe: %s\n", error.to_string().c_str());
  return 1;
}

bool parse_number(const std::string& text, uint64_t max, uint64_t& value) {
  if (text.empty() || text.size() > 10) return false;
  char* end = nullptr;
  value = std::strtoull(text.c_str(), &end, 10);
  return *end == '\0' && value <= max && text[0] != '-';
}

int show(const std::string& pf) {
  auto link = VfLink::open();
  if (!link.ok()) return refused(link.error());
  auto vfs = link->vf_settings(pf);
  if (!vfs.ok()) return refused(vfs.error());
  nlohmann::json out;
  out["ifindex"] = vfs->ifindex;
  out["name"] = vfs->name;
  out["num_vfs"] = vfs->num_vfs ? nlohmann::json(*vfs->num_vfs) : nlohmann::json(nullptr);
  out["vfs"] = nlohmann::json::array();
  for (const auto& vf : vfs->vfs) {
    nlohmann::json j = to_json(vf.settings);
    j["index"] = vf.index;
    out["vfs"].push_back(j);
  }
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

int set(const std::string& pf, const std::string& vf_text, const std::vector<std::string>& args) {
  uint64_t vf = 0;
  if (!parse_number(vf_text, UINT32_MAX, vf)) return usage("'" + vf_text + "' is not a VF number");
  if (args.size() % 2 != 0) return usage("'" + args.back() + "' needs a value");
  VfSettings change;
  std::optional<uint64_t> vlan;
  uint64_t qos = 0;
  VlanProtocol protocol = VlanProtocol::dot1q;
  std::optional<uint64_t> min_rate;
  std::optional<uint64_t> max_rate;
  for (size_t i = 0; i < args.size(); i += 2) {
    const std::string& key = args[i];
    const std::string& value = args[i + 1];
    uint64_t n = 0;
    if (key == "mac") {
      auto mac = MacAddress::parse(value);
      if (!mac.ok()) return usage(mac.error().message());
      change.mac = *mac;
    } else if (key == "vlan" || key == "qos" || key == "min_tx_rate" || key == "max_tx_rate") {
      if (!parse_number(value, UINT32_MAX, n))
        return usage(key + " '" + value + "' is not a number");
      if (key == "vlan") vlan = n;
      if (key == "qos") qos = n;
      if (key == "min_tx_rate") min_rate = n;
      if (key == "max_tx_rate") max_rate = n;
    } else if (key == "proto") {
      auto p = parse_vlan_protocol(value);
      if (!p.ok()) return usage(p.error().message());
      protocol = *p;
    } else if (key == "spoofchk" || key == "trust") {
      if (value != "on" && value != "off") return usage(key + " takes on or off");
      (key == "trust" ? change.trust : change.spoof_check) = value == "on";
    } else if (key == "state") {
      auto s = parse_vf_link_state(value);
      if (!s.ok()) return usage(s.error().message());
      change.link_state = *s;
    } else {
      return usage("unknown setting '" + key + "'");
    }
  }
  if (vlan) {
    // Range checks are build_set_vf_request's: the probe passes what it was given.
    change.vlan = VfVlan{static_cast<uint16_t>(*vlan > 0xffff ? 0xffff : *vlan),
                         static_cast<uint8_t>(qos > 0xff ? 0xff : qos), protocol};
  }
  if (min_rate || max_rate) {
    change.rate = VfRate{static_cast<uint32_t>(min_rate.value_or(0)),
                         static_cast<uint32_t>(max_rate.value_or(0))};
  }
  auto link = VfLink::open();
  if (!link.ok()) return refused(link.error());
  auto applied = link->apply(pf, static_cast<uint32_t>(vf), change);
  if (!applied.ok()) return refused(applied.error());
  return 0;
}

}  // namespace

// Only std::bad_alloc can escape, and then ending the program is right.
int main(int argc, char** argv) {  // NOLINT(bugprone-exception-escape)
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 2 && args[0] == "show") return show(args[1]);
  if (args.size() >= 3 && args[0] == "set") {
    return set(args[1], args[2], std::vector<std::string>(args.begin() + 3, args.end()));
  }
  return usage("expected 'show PF' or 'set PF VF SETTING VALUE...'");
}
