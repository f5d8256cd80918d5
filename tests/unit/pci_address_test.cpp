#include "ringlane/vfio/pci_address.h"

#include <gtest/gtest.h>

namespace ringlane::vfio {
namespace {

TEST(PciAddress, ParsesLongAndShortForms) {
  auto a = PciAddress::parse("0000:00:02.0");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->to_string(), "0000:00:02.0");
  auto b = PciAddress::parse("3A:1f.7");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->domain, 0u);
  EXPECT_EQ(b->bus, 0x3a);
  EXPECT_EQ(b->device, 0x1f);
  EXPECT_EQ(b->function, 7);
  EXPECT_EQ(b->to_string(), "0000:3a:1f.7");
  auto c = PciAddress::parse("10000:00:00.0");  // a VMD domain
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->to_string(), "10000:00:00.0");
  EXPECT_FALSE(PciAddress::parse("100000000:00:00.0").ok());
  auto d = PciAddress::parse("abcd:ff:00.1");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->domain, 0xabcdu);
}

TEST(PciAddress, RejectsWhatIsNotAnAddress) {
  for (const char* text : {"", "0000:00:02", "0000:00:20.0", "0000:00:02.8", "00:02.0 ",
                           "0000:00:02.0/x", "g0:00.0", "0000-00:02.0", "0:00:02.0"}) {
    auto r = PciAddress::parse(text);
    EXPECT_FALSE(r.ok()) << text;
    if (!r.ok()) {
      EXPECT_NE(r.error().message().find("is not a PCI address"), std::string::npos);
    }
  }
}

TEST(PciAddress, OrdersByBusThenDeviceThenFunction) {
  EXPECT_LT(*PciAddress::parse("00:02.0"), *PciAddress::parse("00:02.1"));
  EXPECT_LT(*PciAddress::parse("00:1f.7"), *PciAddress::parse("01:00.0"));
  EXPECT_EQ(*PciAddress::parse("0000:00:02.0"), *PciAddress::parse("00:02.0"));
}

}  // namespace
}  // namespace ringlane::vfio
