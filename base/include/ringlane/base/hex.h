// Addresses and values in messages, as operators and the specs write them: "0x3f8" (0 is "0").
#pragma once

#include <cstdint>
#include <string>

namespace ringlane {

std::string hex(uint64_t value);

}  // namespace ringlane
