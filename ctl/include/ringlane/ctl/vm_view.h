// How ringlane-ctl shows ringlane-vmm's answers to a person: GET /vm as "key: value" lines,
// GET /vm/nics as a table, a NIC after a mode switch as one line. Fields missing from an answer
// show as "-" (an older or newer VMM), never as an error.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace ringlane::ctl {

std::string format_vm(const nlohmann::json& vm);
// {"nics": [...]}: NAME MODE MODEL MAC ACTIVE RX_FRAMES TX_FRAMES RX_BYTES TX_BYTES DROPS.
std::string format_nics(const nlohmann::json& answer);
std::string format_nic(const nlohmann::json& nic);

}  // namespace ringlane::ctl
