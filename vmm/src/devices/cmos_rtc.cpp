#include "ringlane/vmm/devices/cmos_rtc.h"

namespace ringlane::vmm {

namespace {

constexpr uint8_t kSeconds = 0x00;
constexpr uint8_t kMinutes = 0x02;
constexpr uint8_t kHours = 0x04;
constexpr uint8_t kWeekday = 0x06;
constexpr uint8_t kDayOfMonth = 0x07;
constexpr uint8_t kMonth = 0x08;
constexpr uint8_t kYear = 0x09;
constexpr uint8_t kRegisterA = 0x0a;
constexpr uint8_t kRegisterB = 0x0b;
constexpr uint8_t kRegisterC = 0x0c;
constexpr uint8_t kRegisterD = 0x0d;
constexpr uint8_t kCentury = 0x32;

constexpr uint8_t kAUpdateInProgress = 0x80;
constexpr uint8_t kBBinary = 0x04;
constexpr uint8_t kB24Hour = 0x02;
constexpr uint8_t kDValid = 0x80;
constexpr uint8_t kIndexMask = 0x7f;  // bit 7 of the index port masks NMIs

uint8_t bcd(int v) {
  return static_cast<uint8_t>(((v / 10) << 4) | (v % 10));
}

// The registers that show the host's clock rather than CMOS memory.
bool is_clock_register(uint8_t index) {
  switch (index) {
    case kSeconds:
    case kMinutes:
    case kHours:
    case kWeekday:
    case kDayOfMonth:
    case kMonth:
    case kYear:
    case kCentury:
      return true;
    default:
      return false;
  }
}

}  // namespace

CmosRtc::CmosRtc(std::function<std::time_t()> now) : now_(std::move(now)) {
  memory_[kRegisterA] = 0x26;  // 32.768 kHz time base, 1024 Hz rate, no update in progress
  memory_[kRegisterB] = kB24Hour;
  memory_[kRegisterD] = kDValid;
}

uint8_t CmosRtc::clock_register(uint8_t index) const {
  std::time_t t = now_();
  std::tm tm{};
  gmtime_r(&t, &tm);
  int v = 0;
  switch (index) {
    case kSeconds:
      v = tm.tm_sec;
      break;
    case kMinutes:
      v = tm.tm_min;
      break;
    case kHours:
      v = tm.tm_hour;
      break;
    case kWeekday:
      v = tm.tm_wday + 1;
      break;
    case kDayOfMonth:
      v = tm.tm_mday;
      break;
    case kMonth:
      v = tm.tm_mon + 1;
      break;
    case kYear:
      v = tm.tm_year % 100;
      break;
    case kCentury:
      v = (tm.tm_year + 1900) / 100;
      break;
    default:
      return memory_[index];
  }
  return (memory_[kRegisterB] & kBBinary) != 0 ? static_cast<uint8_t>(v) : bcd(v);
}

uint8_t CmosRtc::read(uint16_t port) {
  if (port == kIndexPort) return index_;
  if (is_clock_register(index_)) return clock_register(index_);
  switch (index_) {
    case kRegisterC:
      return 0;  // no interrupt flags, ever
    default:
      return memory_[index_];
  }
}

void CmosRtc::write(uint16_t port, uint8_t value) {
  if (port == kIndexPort) {
    index_ = value & kIndexMask;
    return;
  }
  if (is_clock_register(index_)) return;  // the host's clock
  switch (index_) {
    case kRegisterC:
    case kRegisterD:
      break;  // read-only status
    case kRegisterA:
      memory_[index_] = value & static_cast<uint8_t>(~kAUpdateInProgress);
      break;
    default:
      memory_[index_] = value;
      break;
  }
}

}  // namespace ringlane::vmm
