#include "ringlane/ctl/text_table.h"

#include <algorithm>

namespace ringlane::ctl {

using nlohmann::json;

std::string json_field(const json& object, const char* key) {
  const json& value = json_member(object, key);
  if (value.is_null()) return "-";
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "yes" : "no";
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

const json& json_member(const json& object, const char* key) {
  static const json missing;
  if (!object.is_object()) return missing;
  auto it = object.find(key);
  return it == object.end() ? missing : *it;
}

std::string format_table(const std::vector<std::vector<std::string>>& rows, size_t right_from,
                         size_t right_until) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()), 0);
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      std::string pad(width[i] - row[i].size(), ' ');
      if (i > 0) line += "  ";
      bool right = i >= right_from && i < right_until;
      line += right ? pad + row[i] : row[i] + (i + 1 < row.size() ? pad : "");
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace ringlane::ctl
