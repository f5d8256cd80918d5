// What ringlane-ctl's views of API answers share: a JSON member as the text a table shows ("-"
// when absent, so an older or newer program's answer still shows), and columns padded to their
// widest cell.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ringlane::ctl {

// The value at `key` of an object as text: strings as they are, true/false as yes/no, numbers
// as JSON writes them; "-" when `object` is no object or has no such member (or it is null).
std::string json_field(const nlohmann::json& object, const char* key);
// The member at `key`, or null when there is none.
const nlohmann::json& json_member(const nlohmann::json& object, const char* key);
// Rows of cells, each column as wide as its widest cell, two spaces apart; cells of the columns
// from `right_from` up to (not including) `right_until` (numbers) aligned right. No trailing
// spaces.
std::string format_table(const std::vector<std::vector<std::string>>& rows, size_t right_from,
                         size_t right_until = SIZE_MAX);

}  // namespace ringlane::ctl
