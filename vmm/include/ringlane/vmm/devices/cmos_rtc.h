// CmosRtc: the PC's MC146818 real-time clock and CMOS memory at ports 0x70 (index) and 0x71
// (data). Linux reads the wall clock from it at boot and checks its "valid" bit; unanswered, it
// reads all ones, warns, and keeps polling "update in progress". The time is the host's (UTC),
// in BCD or binary as register B asks; the guest's writes to the time are ignored, everything else
// is plain memory. No periodic, alarm or update interrupts.
#pragma once

#include <array>
#include <cstdint>
#include <ctime>
#include <functional>

namespace ringlane::vmm {

class CmosRtc {
 public:
  static constexpr uint16_t kIndexPort = 0x70;
  static constexpr uint16_t kDataPort = 0x71;

  // `now` gives the current time (a parameter so tests can fix it).
  explicit CmosRtc(std::function<std::time_t()> now = [] { return std::time(nullptr); });

  uint8_t read(uint16_t port);
  void write(uint16_t port, uint8_t value);

 private:
  uint8_t clock_register(uint8_t index) const;

  std::function<std::time_t()> now_;
  uint8_t index_ = 0;
  std::array<uint8_t, 128> memory_{};
};

}  // namespace ringlane::vmm
