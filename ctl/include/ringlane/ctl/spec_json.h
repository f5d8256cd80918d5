// A spec as ringlane's --port or --disk takes it (name=vm2,path=/tmp/vm2.sock,queues=2;
// name=d1,path=/run/d1.sock,file=/var/lib/d1.img), as the JSON object `ringlane-ctl port add`
// sends to POST /ports and `disk add` to POST /disks: one member per key, every value a string, as
// written. The spec is split as base/option_parser.h splits it (a value in double quotes may hold
// commas: devargs="net_pcap0,iface=lo"); what the keys and values mean is the daemon's to check,
// so ringlane-ctl needs no list of them and never disagrees with the daemon it talks to.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "ringlane/base/result.h"

namespace ringlane::ctl {

// Which of the daemon's options the spec is the value of.
enum class SpecOf { kPort, kDisk };

// EINVAL, naming the item, for what no spec can be: an empty spec, an item without '=' or with an
// empty key, an unterminated quote, text after a closing quote, a key given twice; for a port also
// "peer" (not a --port key: `port add --peer NAME` says it).
Result<nlohmann::json> spec_json(std::string_view spec, SpecOf what);

}  // namespace ringlane::ctl
