#include "ringlane/vmm/serial_port.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

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

}  // namespace
}  // namespace ringlane::vmm
