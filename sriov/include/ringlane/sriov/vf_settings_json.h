// VfSettings as JSON, for the VF pool's state file and for tools: absent fields are absent keys.
//   {"mac": "02:00:00:00:00:01", "vlan": {"id": 10, "qos": 0, "protocol": "802.1Q"},
//    "spoof_check": true, "trust": false, "rate": {"min_mbps": 0, "max_mbps": 1000},
//    "link_state": "auto"}
#pragma once

#include <nlohmann/json.hpp>

#include "ringlane/base/result.h"
#include "ringlane/sriov/vf_settings.h"

namespace ringlane::sriov {

nlohmann::json to_json(const VfSettings& settings);

// EINVAL naming the key for a wrong type, a value out of range or an unknown key.
Result<VfSettings> vf_settings_from_json(const nlohmann::json& json);

}  // namespace ringlane::sriov
