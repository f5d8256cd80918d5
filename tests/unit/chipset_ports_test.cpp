// Ports 0xcf8-0xcff: the reset control register's byte at 0xcf9 inside PCI configuration
// mechanism 1.
#include "ringlane/vmm/machine/chipset_ports.h"

#include <gtest/gtest.h>

#include <cstring>

#include "ringlane/vmm/machine/io_bus.h"
#include "ringlane/vmm/x86/layout.h"

namespace ringlane::vmm {
namespace {

class ChipsetPortsTest : public ::testing::Test {
 protected:
  ChipsetPortsTest() {
    EXPECT_TRUE(bus_.insert(ChipsetPorts::kBase, ChipsetPorts::kPorts, ports_).ok());
  }

  PciBus pci_{{kPciMmioStart, kPciMmioEnd}, {kPciIoStart, kPciIoEnd}};
  int resets_ = 0;
  ChipsetPorts ports_{pci_, [this] { ++resets_; }};
  IoBus bus_{"port I/O", 4};
};

TEST_F(ChipsetPortsTest, AByteAt0xcf9WithBit2ResetsTheMachine) {
  uint8_t value = 0x02;  // hard reset type, but no reset yet
  EXPECT_TRUE(bus_.write(0xcf9, {&value, 1}));
  EXPECT_EQ(resets_, 0);
  value = 0x06;
  EXPECT_TRUE(bus_.write(0xcf9, {&value, 1}));
  EXPECT_EQ(resets_, 1);
  value = 0xff;
  EXPECT_TRUE(bus_.read(0xcf9, {&value, 1}));
  EXPECT_EQ(value, 0);
  EXPECT_EQ(pci_.counters().bad_config_accesses, 0u);
}

TEST_F(ChipsetPortsTest, EverythingElseIsConfigurationMechanismOne) {
  // The host bridge's vendor and device ID through the address and data ports.
  uint32_t address = 0x80000000;
  uint8_t bytes[4];
  std::memcpy(bytes, &address, 4);
  EXPECT_TRUE(bus_.write(0xcf8, bytes));
  uint32_t id = 0;
  EXPECT_TRUE(bus_.read(0xcfc, {reinterpret_cast<uint8_t*>(&id), 4}));
  EXPECT_EQ(id, 0x00081b36u);
  // A word at 0xcf9 is not the reset register: the PCI bus answers it as a bad access.
  uint8_t word[2] = {0x06, 0};
  EXPECT_TRUE(bus_.write(0xcf9, word));
  EXPECT_EQ(resets_, 0);
  EXPECT_EQ(pci_.counters().bad_config_accesses, 1u);
  EXPECT_EQ(pci_.counters().config_reads, 1u);
}

}  // namespace
}  // namespace ringlane::vmm
