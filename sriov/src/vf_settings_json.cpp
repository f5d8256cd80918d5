#include "ringlane/sriov/vf_settings_json.h"

#include <cerrno>
#include <string>

namespace ringlane::sriov {
namespace {

Error bad(const std::string& key, const std::string& why) {
  return Error(EINVAL, "VF settings: '" + key + "' " + why);
}

// An unsigned integer at j[key] no larger than `max`.
Result<uint64_t> number(const nlohmann::json& j, const std::string& key, uint64_t max) {
  if (!j.contains(key)) return bad(key, "is missing");
  const auto& v = j.at(key);
  if (!v.is_number_unsigned() || v.get<uint64_t>() > max) {
    return bad(key, "must be a whole number from 0 to " + std::to_string(max));
  }
  return v.get<uint64_t>();
}

Result<std::string> text(const nlohmann::json& v, const std::string& key) {
  if (!v.is_string()) return bad(key, "must be a string");
  return v.get<std::string>();
}

Result<bool> boolean(const nlohmann::json& v, const std::string& key) {
  if (!v.is_boolean()) return bad(key, "must be true or false");
  return v.get<bool>();
}

}  // namespace

nlohmann::json to_json(const VfSettings& s) {
  nlohmann::json j = nlohmann::json::object();
  if (s.mac) j["mac"] = s.mac->to_string();
  if (s.vlan) {
    j["vlan"] = {{"id", s.vlan->id},
                 {"qos", s.vlan->qos},
                 {"protocol", std::string(to_string(s.vlan->protocol))}};
  }
  if (s.spoof_check) j["spoof_check"] = *s.spoof_check;
  if (s.trust) j["trust"] = *s.trust;
  if (s.rate) j["rate"] = {{"min_mbps", s.rate->min_mbps}, {"max_mbps", s.rate->max_mbps}};
  if (s.link_state) j["link_state"] = std::string(to_string(*s.link_state));
  return j;
}

Result<VfSettings> vf_settings_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return Error(EINVAL, "VF settings must be a JSON object");
  VfSettings s;
  for (const auto& [key, value] : j.items()) {
    if (key == "mac") {
      RINGLANE_ASSIGN_OR_RETURN(const std::string t, text(value, key));
      auto mac = MacAddress::parse(t);
      if (!mac.ok()) return bad(key, mac.error().message());
      s.mac = *mac;
    } else if (key == "vlan") {
      if (!value.is_object()) return bad(key, "must be an object with id, qos and protocol");
      RINGLANE_ASSIGN_OR_RETURN(const uint64_t id, number(value, "id", 4095));
      RINGLANE_ASSIGN_OR_RETURN(const uint64_t qos, number(value, "qos", 7));
      VfVlan vlan{static_cast<uint16_t>(id), static_cast<uint8_t>(qos), VlanProtocol::dot1q};
      if (value.contains("protocol")) {
        RINGLANE_ASSIGN_OR_RETURN(const std::string t, text(value.at("protocol"), "protocol"));
        auto protocol = parse_vlan_protocol(t);
        if (!protocol.ok()) return bad("protocol", protocol.error().message());
        vlan.protocol = *protocol;
      }
      s.vlan = vlan;
    } else if (key == "spoof_check" || key == "trust") {
      RINGLANE_ASSIGN_OR_RETURN((key == "trust" ? s.trust : s.spoof_check), boolean(value, key));
    } else if (key == "rate") {
      if (!value.is_object()) return bad(key, "must be an object with min_mbps and max_mbps");
      RINGLANE_ASSIGN_OR_RETURN(const uint64_t min, number(value, "min_mbps", UINT32_MAX));
      RINGLANE_ASSIGN_OR_RETURN(const uint64_t max, number(value, "max_mbps", UINT32_MAX));
      s.rate = VfRate{static_cast<uint32_t>(min), static_cast<uint32_t>(max)};
    } else if (key == "link_state") {
      RINGLANE_ASSIGN_OR_RETURN(const std::string t, text(value, key));
      auto state = parse_vf_link_state(t);
      if (!state.ok()) return bad(key, state.error().message());
      s.link_state = *state;
    } else {
      return bad(key, "is not a VF setting (mac, vlan, spoof_check, trust, rate, link_state)");
    }
  }
  return s;
}

}  // namespace ringlane::sriov
