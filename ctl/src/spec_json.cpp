#include "ringlane/ctl/spec_json.h"

#include <string>

namespace ringlane::ctl {

Result<nlohmann::json> spec_json(std::string_view spec, SpecOf what) {
  // The same split as parse_options (base/option_parser.h), which needs the known keys up front;
  // here the daemon knows them, so only the form is checked.
  nlohmann::json object = nlohmann::json::object();
  size_t at = 0;
  while (true) {
    size_t eq = spec.find('=', at);
    size_t comma = spec.find(',', at);
    bool has_eq = eq != std::string_view::npos && (comma == std::string_view::npos || eq < comma);
    bool quoted = has_eq && eq + 1 < spec.size() && spec[eq + 1] == '"';
    std::string value;
    if (quoted) {
      size_t close = spec.find('"', eq + 2);
      if (close == std::string_view::npos) {
        return Error(EINVAL, "unterminated quote in '" + std::string(spec.substr(at)) + "'");
      }
      value = std::string(spec.substr(eq + 2, close - eq - 2));
      comma = close + 1 < spec.size() ? close + 1 : std::string_view::npos;
      if (comma != std::string_view::npos && spec[comma] != ',') {
        return Error(EINVAL, "expected ',' after the quoted value in '" +
                                 std::string(spec.substr(at)) + "'");
      }
    }
    std::string_view item =
        spec.substr(at, comma == std::string_view::npos ? std::string_view::npos : comma - at);
    if (!has_eq || eq == at) {
      return Error(EINVAL, "expected key=value, got '" + std::string(item) + "'");
    }
    std::string key(spec.substr(at, eq - at));
    // POST /ports takes "peer" beside the --port keys; a spec carrying it would read as if
    // --port had such a key. A disk has no peer, so the daemon refuses it as any unknown key.
    if (what == SpecOf::kPort && key == "peer") {
      return Error(EINVAL, "'peer' is not a port key: give the peer with --peer NAME");
    }
    if (object.contains(key)) return Error(EINVAL, "'" + key + "' given twice");
    if (!quoted) value = std::string(item.substr(eq - at + 1));
    object[key] = std::move(value);
    if (comma == std::string_view::npos) break;
    at = comma + 1;
  }
  return object;
}

}  // namespace ringlane::ctl
