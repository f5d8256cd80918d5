#include "ringlane/vfio/vfio_group.h"

#include <gtest/gtest.h>

#include "fake_kernel_files.h"

namespace ringlane::vfio {
namespace {

using testing::FakeKernelFiles;

PciAddress at(const char* text) {
  return *PciAddress::parse(text);
}

// VfioGroup's checks before it opens /dev/vfio/N, on the fake sysfs tree.
class VfioGroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    files_.add_driver("vfio-pci");
    files_.add_driver("e1000e");
    files_.add_device({.bdf = "0000:00:02.0", .driver = "e1000e", .iommu_group = 3});
    files_.add_device({.bdf = "0000:00:04.0", .iommu_group = 4});
    files_.add_device({.bdf = "0000:00:05.0", .driver = "vfio-pci", .iommu_group = 5});
    files_.add_device({.bdf = "0000:00:06.0", .driver = "vfio-pci"});
  }
  Result<VfioGroup> open(const char* bdf) {
    return VfioGroup::open_for(at(bdf), files_, files_.dir() + "/dev-vfio");
  }

  FakeKernelFiles files_;
};

TEST_F(VfioGroupTest, MissingDeviceIsNamed) {
  Result<VfioGroup> g = open("0000:00:09.0");
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error().code(), ENODEV);
  EXPECT_NE(g.error().message().find("no PCI device 0000:00:09.0"), std::string::npos);
}

TEST_F(VfioGroupTest, RefusesADeviceNotBoundToVfioPci) {
  Result<VfioGroup> g = open("0000:00:02.0");
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.error().message().find("0000:00:02.0 is bound to e1000e, not vfio-pci"),
            std::string::npos)
      << g.error().message();
  EXPECT_NE(g.error().message().find("ringlane-ctl pci bind 0000:00:02.0"), std::string::npos);
  Result<VfioGroup> unbound = open("0000:00:04.0");
  ASSERT_FALSE(unbound.ok());
  EXPECT_NE(unbound.error().message().find("bound to no driver"), std::string::npos);
}

TEST_F(VfioGroupTest, ADeviceWithoutAGroupPointsAtTheIommu) {
  Result<VfioGroup> g = open("0000:00:06.0");
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.error().message().find("intel_iommu=on"), std::string::npos);
}

TEST_F(VfioGroupTest, AMissingGroupNodeNamesThePath) {
  Result<VfioGroup> g = open("0000:00:05.0");
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.error().message().find(files_.dir() + "/dev-vfio/5"), std::string::npos)
      << g.error().message();
}

}  // namespace
}  // namespace ringlane::vfio
