#include "ringlane/sriov/vf_settings_json.h"

#include <gtest/gtest.h>

namespace ringlane::sriov {
namespace {

TEST(VfSettingsJson, RoundTripsEveryField) {
  VfSettings s;
  s.mac = *MacAddress::parse("02:00:00:00:00:01");
  s.vlan = VfVlan{4095, 7, VlanProtocol::dot1ad};
  s.spoof_check = false;
  s.trust = true;
  s.rate = VfRate{10, 4000000000};
  s.link_state = VfLinkState::enable;
  nlohmann::json j = to_json(s);
  EXPECT_EQ(j.dump(),
            R"({"link_state":"enable","mac":"02:00:00:00:00:01","rate":{"max_mbps":4000000000,)"
            R"("min_mbps":10},"spoof_check":false,"trust":true,"vlan":{"id":4095,)"
            R"("protocol":"802.1ad","qos":7}})");
  auto back = vf_settings_from_json(j);
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(*back, s);
}

TEST(VfSettingsJson, AbsentFieldsStayAbsent) {
  EXPECT_EQ(to_json(VfSettings{}).dump(), "{}");
  auto s = vf_settings_from_json(nlohmann::json::parse(R"({"trust": true})"));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->trust, true);
  EXPECT_FALSE(s->mac || s->vlan || s->spoof_check || s->rate || s->link_state);
  // A VLAN without a protocol is 802.1Q, as in `ip link set ... vf N vlan V`.
  auto v = vf_settings_from_json(nlohmann::json::parse(R"({"vlan": {"id": 5, "qos": 0}})"));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->vlan, (VfVlan{5, 0, VlanProtocol::dot1q}));
}

TEST(VfSettingsJson, RefusalsNameTheKey) {
  struct Case {
    const char* json;
    const char* message;
  };
  for (const Case& c : {
           Case{R"([])", "VF settings must be a JSON object"},
           Case{R"({"mac": 1})", "VF settings: 'mac' must be a string"},
           Case{R"({"mac": "02:00"})", "VF settings: 'mac' '02:00' is not a MAC address"},
           Case{R"({"vlan": {"id": 4096, "qos": 0}})",
                "VF settings: 'id' must be a whole number from 0 to 4095"},
           Case{R"({"vlan": {"id": 1, "qos": -1}})", "VF settings: 'qos' must be a whole number"},
           Case{R"({"vlan": {"id": 1}})", "VF settings: 'qos' is missing"},
           Case{R"({"vlan": {"id": 1, "qos": 0, "protocol": "qinq"}})",
                "VF settings: 'protocol' 'qinq' is not a VLAN protocol"},
           Case{R"({"trust": "yes"})", "VF settings: 'trust' must be true or false"},
           Case{R"({"rate": {"min_mbps": 0, "max_mbps": 4294967296}})",
                "VF settings: 'max_mbps' must be a whole number from 0 to 4294967295"},
           Case{R"({"link_state": "up"})", "VF settings: 'link_state' 'up' is not a VF link state"},
           Case{R"({"colour": "red"})", "VF settings: 'colour' is not a VF setting"},
       }) {
    auto r = vf_settings_from_json(nlohmann::json::parse(c.json));
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_EQ(r.error().code(), EINVAL);
    EXPECT_EQ(r.error().message().rfind(c.message, 0), 0u) << r.error().message();
  }
}

}  // namespace
}  // namespace ringlane::sriov
