#include "ringlane/vmm/nic/passthrough_config.h"

#include <gtest/gtest.h>

namespace ringlane::vmm {
namespace {

using Write = PassthroughConfig::DeviceWrite;

TEST(PassthroughConfig, EmulatesAddressingAndInterruptRoutingOnly) {
  PassthroughConfig c(0xa0);
  for (uint16_t at : {0x04, 0x05, 0x10, 0x27, 0x30, 0x33, 0x3c, 0x3d, 0xa2, 0xa3}) {
    EXPECT_TRUE(c.emulated(at)) << at;
  }
  // IDs, status, class, capability pointer and list, MSI-X table offset: the device's.
  for (uint16_t at : {0x00, 0x02, 0x06, 0x08, 0x2c, 0x34, 0x3e, 0xa0, 0xa1, 0xa4, 0xd0}) {
    EXPECT_FALSE(c.emulated(at)) << at;
  }
  EXPECT_TRUE(c.forwarded(0x04));  // the command register goes both ways
  EXPECT_FALSE(c.forwarded(0x10));
  EXPECT_FALSE(c.forwarded(0xa3));
  PassthroughConfig no_msix(std::nullopt);
  EXPECT_FALSE(no_msix.emulated(0xa3));
}

TEST(PassthroughConfig, ReadsMergeTheTwoSources) {
  PassthroughConfig c(0xa0);
  // Command (emulated) and status (device) in one 32-bit read.
  EXPECT_EQ(c.merge(0x04, 4, 0x00100000, 0xffff0006), 0x00100006u);
  // The MSI-X capability's header from the device, message control from the emulation.
  EXPECT_EQ(c.merge(0xa0, 4, 0x0004b011, 0x80040000), 0x8004b011u);
  EXPECT_FALSE(c.needs_device(0x10, 4));
  EXPECT_FALSE(c.needs_device(0x3c, 2));
  EXPECT_TRUE(c.needs_device(0x3c, 4));  // 0x3e-0x3f: minimum grant, maximum latency
  EXPECT_EQ(c.merge(0x3c, 4, 0x12340000, 0x0000000b), 0x1234000bu);
}

TEST(PassthroughConfig, WritesReachTheDeviceOnlyWhereItAnswers) {
  PassthroughConfig c(0xa0);
  EXPECT_EQ(c.device_writes(0x04, 2, 0x0006), (std::vector<Write>{{0x04, 2, 0x0006}}));
  EXPECT_TRUE(c.device_writes(0x10, 4, 0xffffffff).empty());  // BAR sizing stays ours
  EXPECT_TRUE(c.device_writes(0xa2, 2, 0x8000).empty());      // MSI-X enable: emulated
  // Command plus status (write-one-to-clear bits) in one access: whole, both forwarded.
  EXPECT_EQ(c.device_writes(0x04, 4, 0xf9000006), (std::vector<Write>{{0x04, 4, 0xf9000006}}));
  // Interrupt line (ours) with the two bytes after it (the device's): bytewise.
  EXPECT_EQ(c.device_writes(0x3c, 4, 0x4433220b),
            (std::vector<Write>{{0x3e, 1, 0x33}, {0x3f, 1, 0x44}}));
}

}  // namespace
}  // namespace ringlane::vmm
