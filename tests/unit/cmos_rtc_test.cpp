// The CMOS clock as Linux's mc146818 code reads it.
#include "ringlane/vmm/devices/cmos_rtc.h"

#include <gtest/gtest.h>

namespace ringlane::vmm {
namespace {

uint8_t reg(CmosRtc& rtc, uint8_t index) {
  rtc.write(CmosRtc::kIndexPort, index);
  return rtc.read(CmosRtc::kDataPort);
}

// 2026-12-02 04:02:06 UTC, a Wednesday.
constexpr std::time_t kNow = 1796184126;

TEST(CmosRtcTest, TimeInBcdWithValidStatus) {
  CmosRtc rtc([] { return kNow; });
  EXPECT_EQ(reg(rtc, 0x0d) & 0x80, 0x80);  // valid RAM and time
  EXPECT_EQ(reg(rtc, 0x0a) & 0x80, 0);     // no update in progress, ever
  EXPECT_EQ(reg(rtc, 0x00), 0x06);
  EXPECT_EQ(reg(rtc, 0x02), 0x02);
  EXPECT_EQ(reg(rtc, 0x04), 0x04);
  EXPECT_EQ(reg(rtc, 0x06), 0x04);  // Wednesday, Sunday = 1
  EXPECT_EQ(reg(rtc, 0x07), 0x02);
  EXPECT_EQ(reg(rtc, 0x08), 0x12);
  EXPECT_EQ(reg(rtc, 0x09), 0x26);
  EXPECT_EQ(reg(rtc, 0x32), 0x20);
}

TEST(CmosRtcTest, BinaryModeAndMemory) {
  CmosRtc rtc([] { return kNow; });
  rtc.write(CmosRtc::kIndexPort, 0x0b);
  rtc.write(CmosRtc::kDataPort, 0x06);  // binary, 24 hours
  EXPECT_EQ(reg(rtc, 0x08), 12);
  EXPECT_EQ(reg(rtc, 0x09), 26);
  // The NMI mask bit of the index port does not select another register.
  rtc.write(CmosRtc::kIndexPort, 0x80 | 0x40);
  rtc.write(CmosRtc::kDataPort, 0x5a);
  EXPECT_EQ(reg(rtc, 0x40), 0x5a);
  // The guest cannot set the host's clock, nor raise the update flag.
  rtc.write(CmosRtc::kIndexPort, 0x00);
  rtc.write(CmosRtc::kDataPort, 0x59);
  EXPECT_EQ(reg(rtc, 0x00), 6);
  rtc.write(CmosRtc::kIndexPort, 0x0a);
  rtc.write(CmosRtc::kDataPort, 0xa6);
  EXPECT_EQ(reg(rtc, 0x0a), 0x26);
}

}  // namespace
}  // namespace ringlane::vmm
