// The keyboard controller as Linux's i8042 and atkbd drivers and its reboot code use it.
#include "ringlane/vmm/devices/i8042.h"

#include <gtest/gtest.h>

#include <vector>

namespace ringlane::vmm {
namespace {

constexpr uint16_t kData = I8042::kDataPort;
constexpr uint16_t kCmd = I8042::kCommandPort;

TEST(I8042Test, ResetPulseEndsTheMachine) {
  I8042 kbc;
  // kb_wait(): the input buffer is never full, so reboot=k does not spin.
  EXPECT_EQ(kbc.read(kCmd) & 0x02, 0);
  EXPECT_TRUE(kbc.write(kCmd, 0xfe));
  // The output port's reset line (bit 0, active low) too.
  EXPECT_FALSE(kbc.write(kCmd, 0xd1));
  EXPECT_TRUE(kbc.write(kData, 0x00));
}

TEST(I8042Test, ControllerCommandsAnswer) {
  I8042 kbc;
  EXPECT_EQ(kbc.read(kCmd) & 0x01, 0);  // nothing to read
  kbc.write(kCmd, 0xaa);                // self test
  EXPECT_EQ(kbc.read(kCmd) & 0x01, 1);
  EXPECT_EQ(kbc.read(kData), 0x55);
  EXPECT_EQ(kbc.read(kCmd) & 0x01, 0);
  kbc.write(kCmd, 0x20);  // read the command byte
  uint8_t ctr = kbc.read(kData);
  kbc.write(kCmd, 0x60);  // write it back changed
  kbc.write(kData, static_cast<uint8_t>(ctr & ~0x01));
  kbc.write(kCmd, 0x20);
  EXPECT_EQ(kbc.read(kData), ctr & ~0x01);
}

TEST(I8042Test, KeyboardAcknowledgesAndInterrupts) {
  std::vector<bool> line;
  I8042 kbc([&](bool high) { line.push_back(high); });
  kbc.write(kData, 0xf2);  // identify
  EXPECT_EQ(line, (std::vector<bool>{true}));
  EXPECT_EQ(kbc.read(kData), 0xfa);
  EXPECT_EQ(kbc.read(kData), 0xab);
  EXPECT_EQ(kbc.read(kData), 0x83);
  EXPECT_EQ(line, (std::vector<bool>{true, false}));
  kbc.write(kData, 0xff);  // reset: ACK, then the self test passed
  EXPECT_EQ(kbc.read(kData), 0xfa);
  EXPECT_EQ(kbc.read(kData), 0xaa);
  kbc.write(kData, 0xed);  // LEDs and their parameter byte
  kbc.write(kData, 0x00);
  EXPECT_EQ(kbc.read(kData), 0xfa);
  EXPECT_EQ(kbc.read(kData), 0xfa);
}

}  // namespace
}  // namespace ringlane::vmm
