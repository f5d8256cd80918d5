#include "ringlane/vmm/devices/serial_port.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace ringlane::vmm {
namespace {

class SerialPortTest : public ::testing::Test {
 protected:
  SerialPortTest() { EXPECT_EQ(pipe(fds_), 0); }
  ~SerialPortTest() override {
    close(fds_[0]);
    close(fds_[1]);
  }
  std::string drain(size_t n) {
    std::string s(n, '\0');
    EXPECT_EQ(read(fds_[0], s.data(), n), static_cast<ssize_t>(n));
    return s;
  }
  int fds_[2];
};

TEST_F(SerialPortTest, TransmittedBytesReachTheSink) {
  SerialPort port(fds_[1]);
  for (char c : std::string("ok\n")) port.write(0, static_cast<uint8_t>(c));
  EXPECT_EQ(drain(3), "ok\n");
  EXPECT_EQ(port.bytes_written(), 3u);
  // Always ready to transmit, so a polling driver never spins.
  EXPECT_EQ(port.read(5) & 0x60, 0x60);
  EXPECT_EQ(port.read(2), 0x01);  // no interrupt pending
}

TEST_F(SerialPortTest, DivisorLatchHidesTheDataRegister) {
  SerialPort port(fds_[1]);
  port.write(3, 0x80);  // DLAB
  port.write(0, 0x0c);  // 9600 baud
  port.write(1, 0x00);
  EXPECT_EQ(port.read(0), 0x0c);
  EXPECT_EQ(port.bytes_written(), 0u);
  port.write(3, 0x03);  // 8N1, DLAB off
  port.write(0, 'x');
  EXPECT_EQ(drain(1), "x");
  port.write(7, 0x5a);
  EXPECT_EQ(port.read(7), 0x5a);  // scratch register, used by drivers to probe
  EXPECT_EQ(port.read(3), 0x03);
}

// Records the interrupt line's transitions.
struct Line {
  std::vector<bool> changes;
  SerialPort::IrqLine fn() {
    return [this](bool high) { changes.push_back(high); };
  }
};

TEST_F(SerialPortTest, ThrEmptyInterruptFollowsThe16550Rules) {
  Line line;
  SerialPort port(fds_[1], line.fn());
  EXPECT_FALSE(port.irq_level());
  port.write(1, 0x02);  // IER.THRI on, holding register empty: interrupt
  EXPECT_TRUE(port.irq_level());
  EXPECT_EQ(port.read(2) & 0x0f, 0x02);  // IIR says THRE, and reading it acknowledges
  EXPECT_FALSE(port.irq_level());
  EXPECT_EQ(port.read(2) & 0x0f, 0x01);
  port.write(0, 'a');  // the byte leaves at once: empty again
  EXPECT_TRUE(port.irq_level());
  drain(1);
  port.write(1, 0x00);  // THRI off drops it
  EXPECT_FALSE(port.irq_level());
  EXPECT_EQ(line.changes, (std::vector<bool>{true, false, true, false}));
}

TEST_F(SerialPortTest, LinuxThreTestSeesTheInterruptReasserted) {
  // serial8250_do_startup: IER=THRI, read IIR, IER=0, IER=THRI, read IIR; both must show THRE.
  SerialPort port(fds_[1]);
  port.write(1, 0x02);
  uint8_t iir1 = port.read(2);
  port.write(1, 0x00);
  port.write(1, 0x02);
  uint8_t iir2 = port.read(2);
  port.write(1, 0x00);
  EXPECT_EQ(iir1 & 0x01, 0);
  EXPECT_EQ(iir2 & 0x01, 0);
}

TEST_F(SerialPortTest, ReceivedBytesRaiseTheDataInterrupt) {
  Line line;
  SerialPort port(fds_[1], line.fn());
  const uint8_t typed[] = {'h', 'i'};
  EXPECT_EQ(port.receive(typed), 2u);
  EXPECT_FALSE(port.irq_level());        // IER.RDI is off
  EXPECT_EQ(port.read(5) & 0x01, 0x01);  // LSR data ready
  port.write(1, 0x01);
  EXPECT_TRUE(port.irq_level());
  EXPECT_EQ(port.read(2) & 0x0f, 0x04);  // receive data available
  EXPECT_EQ(port.read(0), 'h');
  EXPECT_TRUE(port.irq_level());
  EXPECT_EQ(port.read(0), 'i');
  EXPECT_FALSE(port.irq_level());
  EXPECT_EQ(port.read(5) & 0x01, 0);
  EXPECT_EQ(port.rx_space(), SerialPort::kRxCapacity);
  std::vector<uint8_t> flood(SerialPort::kRxCapacity + 10, 'x');
  EXPECT_EQ(port.receive(flood), SerialPort::kRxCapacity);  // the rest stays with the sender
  EXPECT_EQ(port.rx_space(), 0u);
}

TEST_F(SerialPortTest, ProbesLikeA16550A) {
  SerialPort port(fds_[1]);
  // IER holds its low nibble only.
  port.write(1, 0x00);
  EXPECT_EQ(port.read(1) & 0x0f, 0x00);
  port.write(1, 0x0f);
  EXPECT_EQ(port.read(1) & 0x0f, 0x0f);
  port.write(1, 0x00);
  // Loopback: MCR RTS|OUT2 shows as CTS|DCD, and transmitted bytes come back.
  port.write(4, 0x10 | 0x0a);
  EXPECT_EQ(port.read(6) & 0xf0, 0x90);
  port.write(0, 'L');
  EXPECT_EQ(port.read(0), 'L');
  EXPECT_EQ(port.bytes_written(), 0u);
  port.write(4, 0x00);
  EXPECT_EQ(port.read(6), 0xb0);  // connected: DCD, DSR, CTS
  // FIFO enabled: IIR's top bits say 16550A.
  port.write(2, 0x01);
  EXPECT_EQ(port.read(2) >> 6, 3);
}

}  // namespace
}  // namespace ringlane::vmm
