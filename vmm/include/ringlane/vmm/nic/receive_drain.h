// The drain of a hand-over: a stopping NIC backend stops taking the guest's frames first, then
// keeps delivering frames to the guest until none has arrived for a while, so answers to the
// guest's last frames reach it instead of a stopped ring (or a TAP queue nobody reads until the
// next switch). Bounded: a peer that never falls silent cannot hold a switch up.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

namespace ringlane::vmm {

// Quiet for this long: nothing more is on its way.
inline constexpr std::chrono::milliseconds kDrainQuiet{30};
// The longest a drain may take.
inline constexpr std::chrono::milliseconds kDrainLimit{1000};

// Waits until `delivered()` (a count of frames handed to the guest) has not changed for `quiet`,
// or until `limit` has passed. Returns true when it fell quiet.
bool drain_until_quiet(const std::function<uint64_t()>& delivered,
                       std::chrono::milliseconds quiet = kDrainQuiet,
                       std::chrono::milliseconds limit = kDrainLimit);

}  // namespace ringlane::vmm
