// The port spec `ringlane-ctl port add` takes (the daemon's --port value, e.g.
// name=vm2,path=/tmp/vm2.sock,queues=2) as the JSON object POST /ports wants: one member per key,
// every value a string, as written. The spec is split as base/option_parser.h splits it (a value
// in double quotes may hold commas: devargs="net_pcap0,iface=lo"); what the keys and values mean
// is the daemon's to check, so ringlane-ctl needs no list of them and never disagrees with the
// daemon it talks to.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "ringlane/base/result.h"

namespace ringlane::ctl {

// EINVAL, naming the item, for what no port spec can be: an empty spec, an item without '=' or
// with an empty key, an unterminated quote, text after a closing quote, a key given twice, and
// "peer" (not a --port key: `port add --peer NAME` says it).
Result<nlohmann::json> port_spec_json(std::string_view spec);

}  // namespace ringlane::ctl
