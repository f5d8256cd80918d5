// Legacy byte-register devices on the port I/O bus.
#include "ringlane/vmm/machine/byte_ports.h"

#include <gtest/gtest.h>

#include <vector>

#include "ringlane/vmm/machine/io_bus.h"

namespace ringlane::vmm {
namespace {

TEST(BytePortsTest, ByteAccessesReachTheDeviceWithTheirPort) {
  std::vector<std::pair<uint16_t, uint8_t>> written;
  BytePorts rtc([](uint16_t port) { return static_cast<uint8_t>(port); },
                [&](uint16_t port, uint8_t value) { written.emplace_back(port, value); });
  IoBus bus("port I/O", 4);
  ASSERT_TRUE(bus.insert(0x70, 1, rtc).ok());
  ASSERT_TRUE(bus.insert(0x71, 1, rtc).ok());
  uint8_t value = 0;
  EXPECT_TRUE(bus.read(0x71, {&value, 1}));
  EXPECT_EQ(value, 0x71);
  value = 0x8a;
  EXPECT_TRUE(bus.write(0x70, {&value, 1}));
  ASSERT_EQ(written.size(), 1u);
  EXPECT_EQ(written[0].first, 0x70);
  EXPECT_EQ(written[0].second, 0x8a);
}

TEST(BytePortsTest, OtherWidthsAndMissingReadsAreNotAnswered) {
  int writes = 0;
  BytePorts post(nullptr, [&](uint16_t, uint8_t) { ++writes; });
  uint8_t word[2] = {};
  EXPECT_FALSE(post.write(0x80, 0, word));
  EXPECT_FALSE(post.read(0x80, 0, {word, 1}));
  EXPECT_TRUE(post.write(0x80, 0, {word, 1}));
  EXPECT_EQ(writes, 1);
}

}  // namespace
}  // namespace ringlane::vmm
