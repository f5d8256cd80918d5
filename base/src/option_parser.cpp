#include "ringlane/base/option_parser.h"

#include <algorithm>

namespace ringlane {

namespace {

// A spec holds a handful of keys: a linear search beats building a set.
bool has_key(const std::vector<Option>& options, std::string_view key) {
  return std::any_of(options.begin(), options.end(),
                     [key](const Option& option) { return option.key == key; });
}

}  // namespace

bool OptionList::contains(std::string_view key) const {
  return has_key(options_, key);
}

Result<OptionList> parse_options(std::string_view spec, std::span<const std::string_view> known) {
  std::vector<Option> options;
  size_t at = 0;
  while (true) {
    // A value in double quotes may hold commas (DPDK devargs do): the item ends at the first
    // comma after the closing quote.
    size_t eq_at = spec.find('=', at);
    size_t comma = spec.find(',', at);
    std::string value;
    bool quoted = eq_at != std::string_view::npos &&
                  (comma == std::string_view::npos || eq_at < comma) && eq_at + 1 < spec.size() &&
                  spec[eq_at + 1] == '"';
    if (quoted) {
      size_t close = spec.find('"', eq_at + 2);
      if (close == std::string_view::npos) {
        return Error(EINVAL, "unterminated quote in '" + std::string(spec.substr(at)) + "'");
      }
      comma = close + 1;
      if (comma < spec.size() && spec[comma] != ',') {
        return Error(EINVAL, "expected ',' after the quoted value in '" +
                                 std::string(spec.substr(at)) + "'");
      }
      if (comma >= spec.size()) comma = std::string_view::npos;
      value = std::string(spec.substr(eq_at + 2, close - eq_at - 2));
    }
    std::string_view item =
        spec.substr(at, comma == std::string_view::npos ? spec.npos : comma - at);
    size_t eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return Error(EINVAL, "expected key=value, got '" + std::string(item) + "'");
    }
    std::string_view key = item.substr(0, eq);
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      std::string list;
      for (std::string_view k : known) {
        if (!list.empty()) list += ", ";
        list += k;
      }
      return Error(EINVAL, "unknown key '" + std::string(key) + "' (known: " + list + ")");
    }
    if (has_key(options, key)) {
      return Error(EINVAL, "'" + std::string(key) + "' given twice");
    }
    options.push_back({std::string(key), quoted ? value : std::string(item.substr(eq + 1))});
    if (comma == std::string_view::npos) break;
    at = comma + 1;
  }
  return OptionList(std::move(options));
}

}  // namespace ringlane
