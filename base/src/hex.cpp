#include "ringlane/base/hex.h"

#include <cinttypes>
#include <cstdio>

namespace ringlane {

std::string hex(uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof(text), "%#" PRIx64, value);
  return text;
}

}  // namespace ringlane
