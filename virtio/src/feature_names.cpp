#include "ringlane/virtio/feature_names.h"

namespace ringlane::virtio {

std::string feature_names(uint64_t bits, std::span<const FeatureName> names) {
  std::string out;
  for (const FeatureName& n : names) {
    if (bits & (uint64_t{1} << n.bit)) out += (out.empty() ? "" : " ") + std::string(n.name);
  }
  return out.empty() ? "none" : out;
}

}  // namespace ringlane::virtio
