#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "ringlane/vfio/pci_sysfs.h"
#include "ringlane/vfio/vfio_group.h"

namespace ringlane::vfio {
namespace {
namespace fs = std::filesystem;

// A sysfs tree with the links the kernel makes: devices/BDF/{driver,iommu_group} and
// kernel/iommu_groups/N/devices/BDF.
class FakeSysfs : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/rl-sysfs-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { fs::remove_all(root_); }

  void add_device(const std::string& bdf, const std::string& driver, int group) {
    fs::path dev = fs::path(root_) / "bus/pci/devices" / bdf;
    fs::create_directories(dev);
    if (!driver.empty()) {
      fs::create_directories(fs::path(root_) / "bus/pci/drivers" / driver);
      fs::create_directory_symlink("../../../bus/pci/drivers/" + driver, dev / "driver");
    }
    if (group >= 0) {
      fs::path g = fs::path(root_) / "kernel/iommu_groups" / std::to_string(group);
      fs::create_directories(g / "devices");
      fs::create_directory_symlink("../../../kernel/iommu_groups/" + std::to_string(group),
                                   dev / "iommu_group");
      fs::create_directory_symlink(dev, g / "devices" / bdf);
    }
  }
  PciAddress addr(const char* text) { return *PciAddress::parse(text); }

  std::string root_;
};

TEST_F(FakeSysfs, DriverAndGroup) {
  add_device("0000:00:02.0", "vfio-pci", 7);
  add_device("0000:00:02.1", "e1000e", 7);
  add_device("0000:00:03.0", "", -1);
  PciSysfs sysfs(root_);
  EXPECT_EQ(*sysfs.driver(addr("00:02.0")), "vfio-pci");
  EXPECT_EQ(*sysfs.driver(addr("00:02.1")), "e1000e");
  EXPECT_EQ(*sysfs.driver(addr("00:03.0")), "");
  EXPECT_EQ(*sysfs.iommu_group(addr("00:02.0")), 7);
  EXPECT_EQ(*sysfs.group_devices(7), (std::vector<std::string>{"0000:00:02.0", "0000:00:02.1"}));
  auto none = sysfs.iommu_group(addr("00:03.0"));
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message().find("intel_iommu=on"), std::string::npos);
}

TEST_F(FakeSysfs, MissingDeviceIsNamed) {
  PciSysfs sysfs(root_);
  auto r = sysfs.driver(addr("0000:00:09.0"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ENODEV);
  EXPECT_NE(r.error().message().find("no PCI device 0000:00:09.0"), std::string::npos);
  auto g = VfioGroup::open_for(addr("0000:00:09.0"), sysfs);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error().code(), ENODEV);
}

TEST_F(FakeSysfs, GroupRefusesADeviceNotBoundToVfioPci) {
  add_device("0000:00:02.0", "e1000e", 3);
  add_device("0000:00:04.0", "", 4);
  PciSysfs sysfs(root_);
  auto g = VfioGroup::open_for(addr("0000:00:02.0"), sysfs, root_ + "/dev-vfio");
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.error().message().find("0000:00:02.0 is bound to e1000e, not vfio-pci"),
            std::string::npos)
      << g.error().message();
  auto unbound = VfioGroup::open_for(addr("0000:00:04.0"), sysfs, root_ + "/dev-vfio");
  ASSERT_FALSE(unbound.ok());
  EXPECT_NE(unbound.error().message().find("bound to no driver"), std::string::npos);
}

TEST_F(FakeSysfs, GroupNodeMissingNamesThePath) {
  add_device("0000:00:02.0", "vfio-pci", 5);
  PciSysfs sysfs(root_);
  auto g = VfioGroup::open_for(addr("0000:00:02.0"), sysfs, root_ + "/dev-vfio");
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.error().message().find(root_ + "/dev-vfio/5"), std::string::npos)
      << g.error().message();
}

}  // namespace
}  // namespace ringlane::vfio
