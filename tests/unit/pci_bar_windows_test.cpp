// PCI BARs on the port I/O and MMIO buses: registered while they decode, moved when the guest
// reprograms them (through configuration mechanism 1, as a guest does), refused where they would
// overlap another range, and registered later when the place frees up.
#include "ringlane/vmm/machine/pci_bar_windows.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "log_capture.h"
#include "ringlane/vmm/x86/layout.h"

namespace ringlane::vmm {
namespace {

constexpr uint64_t kMemoryBarSize = 0x1000;
constexpr uint32_t kIoBarSize = 0x20;
constexpr uint16_t kCommand = 0x04;
constexpr uint16_t kBar0 = 0x10;
constexpr uint16_t kBar1 = 0x14;

struct Access {
  int bar;
  uint64_t offset;
  size_t size;
};

// A memory BAR 0 and an I/O BAR 1; records the register accesses that reach it.
class FakeDevice : public PciDevice {
 public:
  explicit FakeDevice(std::string name)
      : PciDevice({0x1234, 0x5678, 0x020000, 0, 0, 0}), name_(std::move(name)) {
    config().add_memory_bar(0, kMemoryBarSize, false);
    config().add_io_bar(1, kIoBarSize);
  }
  std::string name() const override { return name_; }
  void bar_read(int bar, uint64_t offset, std::span<uint8_t> data) override {
    reads.push_back({bar, offset, data.size()});
  }
  void bar_write(int bar, uint64_t offset, std::span<const uint8_t> data) override {
    writes.push_back({bar, offset, data.size()});
  }
  std::vector<Access> reads;
  std::vector<Access> writes;

 private:
  std::string name_;
};

// Stands for a legacy device's ports.
class Ports : public BusDevice {
 public:
  bool read(uint64_t, uint64_t, std::span<uint8_t>) override { return true; }
  bool write(uint64_t, uint64_t, std::span<const uint8_t>) override { return true; }
};

class PciBarWindowsTest : public ::testing::Test {
 protected:
  PciBarWindowsTest() {
    pci_.set_decoding_listener([this] { windows_.sync(pci_); });
  }

  std::shared_ptr<FakeDevice> plug(const std::string& name) {
    auto device = std::make_shared<FakeDevice>(name);
    Result<int> slot = pci_.add(device);
    EXPECT_TRUE(slot.ok());
    slots_.push_back(*slot);
    return device;
  }
  // A dword configuration write, as a guest makes it: address to 0xcf8, value to 0xcfc.
  void config_write(int slot, uint16_t offset, uint32_t value) {
    uint32_t address = 0x80000000U | (static_cast<uint32_t>(slot) << 11) | offset;
    uint8_t bytes[4];
    std::memcpy(bytes, &address, 4);
    pci_.port_write(PciBus::kConfigAddressPort, bytes);
    std::memcpy(bytes, &value, 4);
    pci_.port_write(PciBus::kConfigDataPort, bytes);
  }
  void decode(int slot, bool on) {
    config_write(slot, kCommand,
                 on ? PciConfigSpace::kCommandIo | PciConfigSpace::kCommandMemory : 0);
  }
  bool mmio_read(uint64_t address, size_t size = 4) {
    uint8_t data[8] = {};
    return mmio_.read(address, {data, size});
  }
  bool pio_read(uint64_t port, size_t size = 1) {
    uint8_t data[4] = {};
    return pio_.read(port, {data, size});
  }

  IoBus pio_{"port I/O", PciBarWindows::kCount + 8};
  IoBus mmio_{"MMIO", PciBarWindows::kCount};
  PciBus pci_{{kPciMmioStart, kPciMmioEnd}, {kPciIoStart, kPciIoEnd}};
  PciBarWindows windows_{pio_, mmio_};
  std::vector<int> slots_;
};

TEST_F(PciBarWindowsTest, BarsDecodeWhileTheCommandRegisterSaysSo) {
  std::shared_ptr<FakeDevice> nic = plug("nic");
  // Placed in the windows when plugged, but decoding is off until the guest turns it on.
  EXPECT_FALSE(mmio_read(kPciMmioStart));
  EXPECT_FALSE(pio_read(kPciIoStart));
  decode(slots_[0], true);
  EXPECT_TRUE(mmio_read(kPciMmioStart + 0x10));
  EXPECT_TRUE(pio_read(kPciIoStart + 4));
  uint8_t data[2] = {};
  EXPECT_TRUE(mmio_.write(kPciMmioStart + kMemoryBarSize - 2, data));
  ASSERT_EQ(nic->reads.size(), 2u);
  EXPECT_EQ(nic->reads[0].bar, 0);
  EXPECT_EQ(nic->reads[0].offset, 0x10u);
  EXPECT_EQ(nic->reads[1].bar, 1);
  EXPECT_EQ(nic->reads[1].offset, 4u);
  ASSERT_EQ(nic->writes.size(), 1u);
  EXPECT_EQ(nic->writes[0].offset, kMemoryBarSize - 2);
  decode(slots_[0], false);
  EXPECT_FALSE(mmio_read(kPciMmioStart + 0x10));
  EXPECT_FALSE(pio_read(kPciIoStart + 4));
}

TEST_F(PciBarWindowsTest, AnAccessMustLieInsideTheBar) {
  std::shared_ptr<FakeDevice> nic = plug("nic");
  decode(slots_[0], true);
  EXPECT_TRUE(mmio_read(kPciMmioStart + kMemoryBarSize - 4, 4));
  EXPECT_FALSE(mmio_read(kPciMmioStart + kMemoryBarSize - 2, 4));
  EXPECT_FALSE(pio_read(kPciIoStart + kIoBarSize - 1, 2));
  EXPECT_EQ(nic->reads.size(), 1u);
}

TEST_F(PciBarWindowsTest, AMovedBarAnswersAtItsNewAddressOnly) {
  std::shared_ptr<FakeDevice> nic = plug("nic");
  decode(slots_[0], true);
  config_write(slots_[0], kBar0, 0xd0000000);
  config_write(slots_[0], kBar1, 0xe000);
  EXPECT_FALSE(mmio_read(kPciMmioStart));
  EXPECT_FALSE(pio_read(kPciIoStart));
  EXPECT_TRUE(mmio_read(0xd0000008));
  EXPECT_TRUE(pio_read(0xe001));
  ASSERT_EQ(nic->reads.size(), 2u);
  EXPECT_EQ(nic->reads[0].offset, 8u);
  EXPECT_EQ(nic->reads[1].offset, 1u);
}

TEST_F(PciBarWindowsTest, ABarMovedOntoAnotherWaitsUntilThePlaceIsFree) {
  LogCapture log;
  std::shared_ptr<FakeDevice> first = plug("first");
  std::shared_ptr<FakeDevice> second = plug("second");
  decode(slots_[0], true);
  decode(slots_[1], true);
  const uint64_t first_bar = kPciMmioStart;
  const uint64_t second_bar = kPciMmioStart + kMemoryBarSize;
  ASSERT_TRUE(mmio_read(second_bar));
  ASSERT_EQ(second->reads.size(), 1u);

  // The second BAR moves onto the first: refused, so it decodes nothing for now.
  config_write(slots_[1], kBar0, static_cast<uint32_t>(first_bar));
  EXPECT_TRUE(mmio_read(first_bar));
  EXPECT_EQ(first->reads.size(), 1u);
  EXPECT_FALSE(mmio_read(second_bar));
  EXPECT_EQ(second->reads.size(), 1u);
  ASSERT_EQ(log.lines().size(), 1u);
  EXPECT_EQ(log.lines()[0],
            "second: BAR0 decodes nothing: MMIO: [0xc0000000, 0xc0001000) overlaps "
            "[0xc0000000, 0xc0001000), registered already");

  // The first moves away: the second gets the place.
  config_write(slots_[0], kBar0, 0xd0000000);
  EXPECT_TRUE(mmio_read(first_bar));
  EXPECT_EQ(second->reads.size(), 2u);
  EXPECT_TRUE(mmio_read(0xd0000000));
  EXPECT_EQ(first->reads.size(), 2u);
  EXPECT_EQ(log.lines().size(), 1u);
}

TEST_F(PciBarWindowsTest, AnIoBarOverALegacyDevicesPortsIsRefused) {
  LogCapture log;
  Ports serial;
  ASSERT_TRUE(pio_.insert(0x3f8, 8, serial).ok());
  std::shared_ptr<FakeDevice> nic = plug("nic");
  decode(slots_[0], true);
  config_write(slots_[0], kBar1, 0x3e0);
  EXPECT_FALSE(pio_read(0x3e0));
  EXPECT_TRUE(pio_read(0x3f8));
  EXPECT_FALSE(pio_read(kPciIoStart));
  EXPECT_TRUE(nic->reads.empty());
  EXPECT_EQ(log.lines().size(), 1u);
  // Moved back, it decodes again.
  config_write(slots_[0], kBar1, static_cast<uint32_t>(kPciIoStart));
  EXPECT_TRUE(pio_read(kPciIoStart));
  EXPECT_EQ(nic->reads.size(), 1u);
}

}  // namespace
}  // namespace ringlane::vmm
