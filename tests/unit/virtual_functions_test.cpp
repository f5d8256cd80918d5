#include "ringlane/sriov/virtual_functions.h"

#include <gtest/gtest.h>

#include "fake_kernel_files.h"

namespace ringlane::sriov {
namespace {

using vfio::DriverBinding;
using vfio::PciAddress;
using vfio::testing::FakeKernelFiles;

constexpr PciAddress kPf{0, 0, 3, 0};  // 0000:00:03.0

// An NVMe controller with two VFs to give, like the one in the integration tests' guest.
class VirtualFunctionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    files_.add_nvme_with_sriov();
    files_.add_device(
        {.bdf = "0000:00:02.0", .driver = "e1000e", .native_driver = "e1000e", .iommu_group = 2});
  }
  DriverBinding binding() { return {files_, files_.dir() + "/state.json"}; }

  FakeKernelFiles files_;
};

TEST_F(VirtualFunctionsTest, ListsOnlyDevicesThatCanHaveVfs) {
  Result<std::vector<PhysicalFunction>> pfs = list_physical_functions(files_);
  ASSERT_TRUE(pfs.ok());
  ASSERT_EQ(pfs->size(), 1u);
  EXPECT_EQ((*pfs)[0].device.address, kPf);
  EXPECT_EQ((*pfs)[0].device.total_vfs, 2u);
  EXPECT_TRUE((*pfs)[0].vfs.empty());
}

TEST_F(VirtualFunctionsTest, CreatesWithAutoprobeOffThenBindsEachVf) {
  DriverBinding b = binding();
  Result<PhysicalFunction> pf = create_vfs(files_, b, kPf, {.count = 2, .driver = "vfio-pci"});
  ASSERT_TRUE(pf.ok()) << pf.error().to_string();
  ASSERT_EQ(pf->vfs.size(), 2u);
  EXPECT_EQ(pf->device.num_vfs, 2u);
  for (uint32_t i = 0; i < 2; ++i) {
    const VirtualFunction& vf = pf->vfs[i];
    EXPECT_EQ(vf.index, i);
    EXPECT_EQ(vf.device.driver, "vfio-pci");
    EXPECT_EQ(vf.device.sriov_role, vfio::SriovRole::kVirtualFunction);
    ASSERT_TRUE(vf.device.physical_function.has_value());
    EXPECT_EQ(*vf.device.physical_function, kPf);
    ASSERT_TRUE(vf.device.vf_index.has_value());
    EXPECT_EQ(*vf.device.vf_index, i);
  }
  const auto& w = files_.writes();
  ASSERT_GE(w.size(), 3u);
  EXPECT_EQ(w[0], std::make_pair(std::string("sys/bus/pci/devices/0000:00:03.0/"
                                             "sriov_drivers_autoprobe"),
                                 std::string("0")));
  EXPECT_EQ(w[1].first, "sys/bus/pci/devices/0000:00:03.0/sriov_numvfs");
  EXPECT_EQ(w[1].second, "2");
  EXPECT_EQ(w[2].second, "1");  // autoprobe back as it was
  // Nothing claimed the VFs before vfio-pci: no unbind of a host driver.
  for (const auto& [path, value] : w) EXPECT_EQ(path.find("/unbind"), std::string::npos) << path;
  EXPECT_EQ(b.records()->size(), 2u);
}

TEST_F(VirtualFunctionsTest, CreatingTheSameCountAgainIsANoOp) {
  DriverBinding b = binding();
  ASSERT_TRUE(create_vfs(files_, b, kPf, {.count = 2, .driver = "vfio-pci"}).ok());
  size_t writes = files_.writes().size();
  Result<PhysicalFunction> again = create_vfs(files_, b, kPf, {.count = 2, .driver = "vfio-pci"});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(files_.writes().size(), writes);
}

TEST_F(VirtualFunctionsTest, AnotherCountWhileVfsExistIsRefused) {
  DriverBinding b = binding();
  ASSERT_TRUE(create_vfs(files_, b, kPf, {.count = 1}).ok());
  Result<PhysicalFunction> r = create_vfs(files_, b, kPf, {.count = 2});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("has 1 VFs already"), std::string::npos);
}

TEST_F(VirtualFunctionsTest, TheKernelsRefusalCarriesItsReason) {
  DriverBinding b = binding();
  Result<PhysicalFunction> r = create_vfs(files_, b, kPf, {.count = 3});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ERANGE);
  EXPECT_NE(r.error().message().find("the kernel refused 3 VFs on 0000:00:03.0"), std::string::npos)
      << r.error().message();
  EXPECT_NE(r.error().message().find("sriov_totalvfs is 2"), std::string::npos);
  // Autoprobe is back on after the failure.
  EXPECT_EQ(*files_.read("sys/bus/pci/devices/0000:00:03.0/sriov_drivers_autoprobe"), "1");
}

TEST_F(VirtualFunctionsTest, ADeviceWithoutSriovIsRefused) {
  DriverBinding b = binding();
  Result<PhysicalFunction> r = create_vfs(files_, b, *PciAddress::parse("00:02.0"), {.count = 1});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("no SR-IOV capability"), std::string::npos);
}

TEST_F(VirtualFunctionsTest, DestroyRemovesTheVfsAndTheirRecords) {
  DriverBinding b = binding();
  ASSERT_TRUE(create_vfs(files_, b, kPf, {.count = 2, .driver = "vfio-pci"}).ok());
  Result<PhysicalFunction> pf = destroy_vfs(files_, b, kPf);
  ASSERT_TRUE(pf.ok()) << pf.error().to_string();
  EXPECT_TRUE(pf->vfs.empty());
  EXPECT_EQ(pf->device.num_vfs, 0u);
  EXPECT_TRUE(b.records()->empty());
  EXPECT_FALSE(files_.exists("sys/bus/pci/devices/0000:00:03.1"));
  size_t writes = files_.writes().size();
  ASSERT_TRUE(destroy_vfs(files_, b, kPf).ok());  // idempotent
  EXPECT_EQ(files_.writes().size(), writes);
}

}  // namespace
}  // namespace ringlane::sriov
