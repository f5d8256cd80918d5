// Pinning threads to cores, and parsing core lists such as "1", "2-5", "1,3".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ringlane/base/result.h"

namespace ringlane {

Result<std::vector<int>> parse_core_list(std::string_view text);
// Pins the calling thread to one core.
Status pin_current_thread(int core);
// Lets the calling thread run on any of `cores` (and nowhere else); `cores` must not be empty.
Status pin_current_thread(const std::vector<int>& cores);
// The cores the calling thread may run on now, in ascending order.
Result<std::vector<int>> allowed_cores();
// `cores` without any of `excluded`, order kept.
std::vector<int> cores_except(std::vector<int> cores, const std::vector<int>& excluded);
// "0", "0,2-3": the --cores syntax for a list, ranges folded.
std::string format_core_list(const std::vector<int>& cores);
int online_core_count();

}  // namespace ringlane
