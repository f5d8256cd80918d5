// Feature bits as the names people read in logs and the API ("version_1 indirect event_idx"):
// each device type lists its own names; this turns a negotiated set into text.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace ringlane::virtio {

struct FeatureName {
  int bit;
  const char* name;
};

// The names of the bits of `bits` that `names` lists, space-separated in the list's order, or
// "none". Bits the list does not name are left out.
std::string feature_names(uint64_t bits, std::span<const FeatureName> names);

}  // namespace ringlane::virtio
