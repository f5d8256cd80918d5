// Pinning threads to cores, and parsing core lists such as "1", "2-5", "1,3".
#pragma once

#include <string_view>
#include <vector>

#include "ringlane/base/result.h"

namespace ringlane {

Result<std::vector<int>> parse_core_list(std::string_view text);
// Pins the calling thread to one core.
Status pin_current_thread(int core);
int online_core_count();

}  // namespace ringlane
