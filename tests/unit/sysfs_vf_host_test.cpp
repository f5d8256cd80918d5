#include "ringlane/sriov/sysfs_vf_host.h"

#include <gtest/gtest.h>

#include "fake_kernel_files.h"
#include "ringlane/sriov/virtual_functions.h"

namespace ringlane::sriov {
namespace {

using vfio::DriverBinding;
using vfio::PciAddress;
using vfio::testing::FakeKernelFiles;

constexpr PciAddress kPf{0, 0, 3, 0};
constexpr PciAddress kVf0{0, 0, 3, 1};

// The pool's host on the fake sysfs tree (settings are not used: the PF has no interface).
class SysfsVfHostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    files_.add_nvme_with_sriov();
  }
  SysfsVfHost host() {
    Result<VfLink> link = VfLink::open();
    EXPECT_TRUE(link.ok());
    return SysfsVfHost(std::move(*link), files_, binding_);
  }

  FakeKernelFiles files_;
  DriverBinding binding_{files_, files_.dir() + "/state.json"};
};

TEST_F(SysfsVfHostTest, ListsEveryVfWithItsPfAndDriver) {
  ASSERT_TRUE(create_vfs(files_, binding_, kPf, {.count = 2}).ok());
  SysfsVfHost h = host();
  Result<std::vector<HostVf>> vfs = h.vfs();
  ASSERT_TRUE(vfs.ok());
  ASSERT_EQ(vfs->size(), 2u);
  EXPECT_EQ((*vfs)[0].pf, kPf);
  EXPECT_EQ((*vfs)[0].pf_ifname, "");
  EXPECT_EQ((*vfs)[1].index, 1u);
  EXPECT_EQ((*vfs)[0].driver, "");
  // No interface: nothing to save, and a change says why it cannot be made.
  Result<VfSettings> settings = h.settings("", 0);
  ASSERT_TRUE(settings.ok());
  EXPECT_TRUE(settings->empty());
  VfSettings trust;
  trust.trust = true;
  Status s = h.apply("", 0, trust);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find("has no network interface"), std::string::npos);
}

TEST_F(SysfsVfHostTest, ReleaseOfAVfFromUnboundReturnsItUnbound) {
  ASSERT_TRUE(create_vfs(files_, binding_, kPf, {.count = 2}).ok());
  SysfsVfHost h = host();
  ASSERT_TRUE(h.bind(kVf0, "vfio-pci").ok());
  EXPECT_EQ(files_.driver_of("0000:00:03.1"), "vfio-pci");
  ASSERT_TRUE(h.restore_driver(kVf0, "").ok());
  EXPECT_EQ(files_.driver_of("0000:00:03.1"), "");
  EXPECT_EQ(*files_.read("sys/bus/pci/devices/0000:00:03.1/driver_override"), "(null)");
  EXPECT_TRUE(binding_.records()->empty());
}

// sriov create --driver vfio-pci recorded the VFs' drivers before it (none); the pool found them
// on vfio-pci, and gives them back there, keeping the older record for pci unbind.
TEST_F(SysfsVfHostTest, ReleaseOfAVfCreatedOnVfioLeavesItOnVfio) {
  ASSERT_TRUE(create_vfs(files_, binding_, kPf, {.count = 2, .driver = "vfio-pci"}).ok());
  SysfsVfHost h = host();
  ASSERT_TRUE(h.bind(kVf0, "vfio-pci").ok());
  ASSERT_TRUE(h.restore_driver(kVf0, "vfio-pci").ok());
  EXPECT_EQ(files_.driver_of("0000:00:03.1"), "vfio-pci");
  Result<std::vector<vfio::BindingRecord>> records = binding_.records();
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[0].original_driver, "");
}

TEST_F(SysfsVfHostTest, ReleaseToAnotherDriverThanTheRecordsKeepsTheRecord) {
  ASSERT_TRUE(create_vfs(files_, binding_, kPf, {.count = 2}).ok());
  // Bound to vfio-pci by hand, then by the pool to nvme: back to vfio-pci on release.
  ASSERT_TRUE(binding_.bind(kVf0, {.driver = "vfio-pci"}).ok());
  SysfsVfHost h = host();
  ASSERT_TRUE(h.bind(kVf0, "nvme").ok());
  EXPECT_EQ(files_.driver_of("0000:00:03.1"), "nvme");
  ASSERT_TRUE(h.restore_driver(kVf0, "vfio-pci").ok());
  EXPECT_EQ(files_.driver_of("0000:00:03.1"), "vfio-pci");
  ASSERT_EQ(binding_.records()->size(), 1u);
  EXPECT_EQ((*binding_.records())[0].original_driver, "");
}

}  // namespace
}  // namespace ringlane::sriov
