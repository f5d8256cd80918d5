// libFuzzer target: the rtnetlink parsers of sriov/ on arbitrary bytes. The bytes come from the
// kernel in practice, but nothing may crash or read outside the input whatever they are: every
// view a parser returns must lie inside the input, every VF it reports must survive the JSON
// round trip of the pool's state file, and its settings must make a SETLINK request that the
// message builder accepts whenever their values are in range.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "ringlane/sriov/netlink_message.h"
#include "ringlane/sriov/vf_link_messages.h"
#include "ringlane/sriov/vf_settings_json.h"

namespace {

using namespace ringlane;
using namespace ringlane::sriov;

bool inside(ByteView part, ByteView whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A copy of exactly `size` bytes on the heap, so ASan sees any read past the end.
  std::unique_ptr<uint8_t[]> copy(new uint8_t[size == 0 ? 1 : size]);
  if (size != 0) std::memcpy(copy.get(), data, size);
  ByteView input(copy.get(), size);

  auto link = parse_get_vfs_answer(input);
  if (link.ok()) {
    for (const auto& vf : link->vfs) {
      const VfSettings& s = vf.settings;
      auto back = vf_settings_from_json(to_json(s));
      if (!back.ok() || !(*back == s)) __builtin_trap();
      bool in_range = !(s.rate && s.rate->max_mbps != 0 && s.rate->min_mbps > s.rate->max_mbps);
      if (!s.empty() && in_range && vf.index < 0x7fffffff) {
        auto request = build_set_vf_request(1, link->ifindex, vf.index, s);
        if (!request.ok()) __builtin_trap();
        // The request is one well-formed message.
        auto messages = split_messages(*request);
        if (!messages.ok() || messages->size() != 1) __builtin_trap();
      }
    }
  } else if (link.error().message().empty()) {
    __builtin_trap();
  }

  auto messages = split_messages(input);
  if (messages.ok()) {
    for (const auto& m : *messages) {
      if (!inside(m.payload, input)) __builtin_trap();
      auto attributes = split_attributes(m.payload, "payload");
      if (attributes.ok()) {
        for (const auto& a : *attributes) {
          if (!inside(a.payload, m.payload)) __builtin_trap();
        }
      }
      auto e = parse_error_message(m);
      if (e.ok() && (e->code < 0 || e->code > 4095)) __builtin_trap();
    }
  }
  return 0;
}
