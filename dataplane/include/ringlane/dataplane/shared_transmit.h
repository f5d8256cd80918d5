// transmit_serialised: one transmit queue that several workers may send into (there are more
// workers than the port has queues) is held by one of them for a whole burst, like OVS-DPDK's
// shared transmit queues; a queue only one worker uses is sent into without it. Every port kind
// serialises its shared queues this way.
#pragma once

#include <atomic>
#include <cstdint>

namespace ringlane::dataplane {

// Calls send() (which returns the packets sent) holding `busy` when `shared`.
template <typename Send>
uint16_t transmit_serialised(std::atomic<bool>& busy, bool shared, Send&& send) {
  if (!shared) return send();
  while (busy.exchange(true, std::memory_order_acquire)) __builtin_ia32_pause();
  uint16_t sent = send();
  busy.store(false, std::memory_order_release);
  return sent;
}

}  // namespace ringlane::dataplane
