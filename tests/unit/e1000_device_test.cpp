// E1000Device through its registers, as a driver sees it: interrupt cause/mask logic on the INTx
// line, the transmit ring walked on a TDT write, the receive ring filled from the "wire", and
// guest mistakes (rings outside the ring, buffers outside RAM) counted instead of crashing. The
// wire is a SOCK_SEQPACKET socket pair in place of the TAP device and the line records its level:
// the kernel seams; the integration tests (test_vmm_nic.py) drive the real ones.
#include "ringlane/vmm/nic/e1000_device.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "fake_guest.h"
#include "ringlane/vmm/nic/e1000_registers.h"

namespace ringlane::vmm {
namespace {

namespace e = e1000;
constexpr std::array<uint8_t, 6> kMac{0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
constexpr uint64_t kDescriptor = 16;
constexpr uint64_t kRingBytes = 8 * kDescriptor;  // the smallest ring: 8 descriptors

class RecordedLine : public InterruptLine {
 public:
  // The device's receive thread sets the line too: the levels are shared under a lock.
  RecordedLine(std::vector<bool>& levels, std::mutex& mutex) : levels_(levels), mutex_(mutex) {}
  Status set(bool high) override {
    std::lock_guard lock(mutex_);
    levels_.push_back(high);
    return {};
  }

 private:
  std::vector<bool>& levels_;
  std::mutex& mutex_;
};

class E1000DeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    wire_ = UniqueFd(fds[1]);
    Result<std::shared_ptr<E1000Device>> d =
        E1000Device::create(guest_.memory(), uplink::TapDevice::adopt(UniqueFd(fds[0]), "pair"), kMac);
    ASSERT_TRUE(d.ok());
    device_ = *d;
    device_->set_interrupt_line(std::make_unique<RecordedLine>(levels_, levels_mutex_));
    // Memory decoding and bus mastering, as the driver's pci_enable does.
    device_->config().write(0x04, 2, 0x6);
    device_->config_written(0x04, 2, true);  // as the PCI bus tells a device
  }

  uint32_t read(uint32_t reg) {
    uint32_t v = 0;
    device_->bar_read(0, reg, {reinterpret_cast<uint8_t*>(&v), 4});
    return v;
  }
  void write(uint32_t reg, uint32_t v) {
    device_->bar_write(0, reg, {reinterpret_cast<const uint8_t*>(&v), 4});
  }
  bool line() const {
    std::lock_guard lock(levels_mutex_);
    return !levels_.empty() && levels_.back();
  }

  virtio::FakeGuest guest_;
  UniqueFd wire_;
  mutable std::mutex levels_mutex_;
  std::vector<bool> levels_;
  std::shared_ptr<E1000Device> device_;
};

TEST_F(E1000DeviceTest, TheLineIsHighWhileAnUnmaskedCauseIsPendingAndIcrReadClearsIt) {
  write(e::kIcs, e::kIntLsc);
  EXPECT_FALSE(line()) << "masked: no interrupt";
  write(e::kIms, e::kIntLsc | e::kIntRxt0);
  EXPECT_TRUE(line());
  EXPECT_EQ(read(e::kIcr), e::kIntLsc);
  EXPECT_FALSE(line());
  EXPECT_EQ(read(e::kIcr), 0U) << "read cleared it";
  write(e::kIcs, e::kIntRxt0);
  EXPECT_TRUE(line());
  write(e::kImc, e::kIntRxt0);
  EXPECT_FALSE(line()) << "masking lowers the line, the cause stays";
  EXPECT_EQ(read(e::kIcr), e::kIntRxt0);
}

TEST_F(E1000DeviceTest, ResetKeepsTheMacAddressValidAndStatusShowsLinkUp) {
  write(e::kCtrl, e::kCtrlRst);
  EXPECT_EQ(read(e::kCtrl) & e::kCtrlRst, 0U);
  EXPECT_EQ(read(e::kRal0), 0x12005452U);
  EXPECT_EQ(read(e::kRah0), 0x5634U | e::kRahAv);
  EXPECT_NE(read(e::kStatus) & e::kStatusLu, 0U);
}

TEST_F(E1000DeviceTest, ATailWriteSendsTheRingsFramesAndWritesBackDone) {
  uint64_t ring = guest_.alloc(kRingBytes, 128);
  std::vector<uint8_t> frame(60, 0xab);
  uint64_t buffer = guest_.put(frame);
  for (int i = 0; i < 2; ++i) {
    uint8_t d[16] = {};
    std::memcpy(d, &buffer, 8);
    uint32_t cmd = 60 | e::kTxCmdEop | e::kTxCmdIfcs | e::kTxCmdRs;
    std::memcpy(d + 8, &cmd, 4);
    guest_.write(ring + kDescriptor * i, d, 16);
  }
  write(e::kTdbal, static_cast<uint32_t>(ring));
  write(e::kTdbah, 0);
  write(e::kTdlen, kRingBytes);
  write(e::kTctl, e::kTctlEn);
  write(e::kIms, e::kIntTxdw);
  write(e::kTdt, 2);
  EXPECT_EQ(read(e::kTdh), 2U);
  for (int i = 0; i < 2; ++i) {
    uint8_t got[128];
    ASSERT_EQ(recv(wire_.get(), got, sizeof(got), 0), 60);
    EXPECT_EQ(std::memcmp(got, frame.data(), 60), 0);
    EXPECT_NE(*guest_.host(ring + kDescriptor * i + 12) & e::kTxStatusDd, 0) << "descriptor " << i;
  }
  EXPECT_TRUE(line());
  EXPECT_NE(read(e::kIcr) & e::kIntTxdw, 0U);
  EXPECT_EQ(device_->counters().tx_frames, 2U);
  EXPECT_EQ(device_->counters().kicks, 1U);
}

TEST_F(E1000DeviceTest, ATailOutsideTheRingOrARingOutsideRamIsCountedNotFollowed) {
  write(e::kTdbal, 0x40000000);  // far outside guest memory
  write(e::kTdlen, kRingBytes);
  write(e::kTctl, e::kTctlEn);
  write(e::kTdt, 3);
  EXPECT_EQ(device_->faults().bad_dma, 1U);
  write(e::kTdt, 200);  // past the 8-descriptor ring
  EXPECT_EQ(device_->faults().bad_ring, 1U);
  EXPECT_EQ(device_->counters().tx_frames, 0U);
  char probe;
  EXPECT_LT(recv(wire_.get(), &probe, 1, 0), 0) << "nothing reached the wire";
}

TEST_F(E1000DeviceTest, ReceivedFramesFillTheRingAndABadBufferIsReportedAsAnError) {
  uint64_t ring = guest_.alloc(kRingBytes, 128);
  uint64_t good = guest_.alloc(2048);
  uint64_t bad = 0x40000000;
  for (uint32_t i = 0; i < 8; ++i) {
    uint8_t d[16] = {};
    std::memcpy(d, i == 1 ? &bad : &good, 8);
    guest_.write(ring + kDescriptor * i, d, 16);
  }
  write(e::kRdbal, static_cast<uint32_t>(ring));
  write(e::kRdlen, kRingBytes);
  write(e::kRdh, 0);
  write(e::kRdt, 2);  // two buffers for the device
  write(e::kIms, e::kIntRxt0);
  write(e::kRctl, e::kRctlEn | e::kRctlBam | e::kRctlSecrc);
  std::vector<uint8_t> frame(100, 0x5a);
  std::memcpy(frame.data(), kMac.data(), 6);
  ASSERT_EQ(send(wire_.get(), frame.data(), frame.size(), 0), 100);
  ASSERT_EQ(send(wire_.get(), frame.data(), frame.size(), 0), 100);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  // The receive thread moves the head, then raises the line: wait for both.
  while ((read(e::kRdh) != 2 || !line()) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(read(e::kRdh), 2U);
  uint16_t length = 0;
  std::memcpy(&length, guest_.host(ring + 8, 2), 2);
  EXPECT_EQ(length, 100);
  EXPECT_EQ(*guest_.host(ring + 12), e::kRxStatusDd | e::kRxStatusEop | e::kRxStatusIxsm);
  EXPECT_EQ(*guest_.host(ring + 13), 0);
  EXPECT_EQ(std::memcmp(guest_.host(good, 100), frame.data(), 100), 0);
  EXPECT_NE(*guest_.host(ring + 16 + 12) & e::kRxStatusDd, 0) << "the bad one is done too";
  EXPECT_EQ(*guest_.host(ring + 16 + 13), 0x80) << "with RXE set";
  EXPECT_EQ(device_->faults().bad_dma, 1U);
  EXPECT_TRUE(line());
  EXPECT_NE(read(e::kIcr) & e::kIntRxt0, 0U);
}

TEST_F(E1000DeviceTest, FramesForAnotherAddressAreFilteredOut) {
  uint64_t ring = guest_.alloc(kRingBytes, 128);
  uint64_t buffer = guest_.alloc(2048);
  uint8_t d[16] = {};
  std::memcpy(d, &buffer, 8);
  guest_.write(ring, d, 16);
  write(e::kRdbal, static_cast<uint32_t>(ring));
  write(e::kRdlen, kRingBytes);
  write(e::kRdt, 1);
  write(e::kRctl, e::kRctlEn | e::kRctlSecrc);
  std::vector<uint8_t> other(64, 0);
  other[0] = 0x52;
  other[5] = 0x99;  // not our address, not broadcast, not multicast
  ASSERT_EQ(send(wire_.get(), other.data(), other.size(), 0), 64);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(read(e::kRdh), 0U);
  EXPECT_EQ(device_->counters().rx_frames, 0U);
}

}  // namespace
}  // namespace ringlane::vmm
