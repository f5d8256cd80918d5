#include "ringlane/vfio/driver_binding.h"

#include <gtest/gtest.h>

#include "fake_kernel_files.h"
#include "ringlane/base/atomic_file.h"
#include "ringlane/vfio/host_routes.h"
#include "ringlane/vfio/iommu_group.h"

namespace ringlane::vfio {
namespace {

using testing::FakeDevice;
using testing::FakeKernelFiles;

PciAddress at(const char* text) {
  return *PciAddress::parse(text);
}

// The PCI devices of the QEMU guest the integration tests use: a NIC alone in its group, and
// three chipset functions sharing one.
class DriverBindingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* d : {"e1000e", "vfio-pci", "lpc_ich", "ahci", "i801_smbus", "nvme"}) {
      files_.add_driver(d);
    }
    files_.add_device({.bdf = "0000:00:02.0",
                       .driver = "e1000e",
                       .native_driver = "e1000e",
                       .iommu_group = 2,
                       .numa_node = 0,
                       .interfaces = {"eth0"}});
    files_.add_device({.bdf = "0000:00:1f.0",
                       .device = 0x2918,
                       .class_code = 0x060100,
                       .driver = "lpc_ich",
                       .native_driver = "lpc_ich",
                       .iommu_group = 4});
    files_.add_device({.bdf = "0000:00:1f.2",
                       .device = 0x2922,
                       .class_code = 0x010601,
                       .driver = "ahci",
                       .native_driver = "ahci",
                       .iommu_group = 4});
    files_.add_device({.bdf = "0000:00:1f.3",
                       .device = 0x2930,
                       .class_code = 0x0c0500,
                       .driver = "",
                       .native_driver = "i801_smbus",
                       .iommu_group = 4});
    state_ = files_.dir() + "/run/ringlane/pci-bindings.json";
  }

  FakeKernelFiles files_;
  std::string state_;
};

TEST_F(DriverBindingTest, InventoryReadsIdentityDriverGroupAndInterfaces) {
  Result<std::vector<PciDevice>> devices = list_pci_devices(files_);
  ASSERT_TRUE(devices.ok()) << devices.error().to_string();
  ASSERT_EQ(devices->size(), 4u);
  const PciDevice& nic = (*devices)[0];
  EXPECT_EQ(nic.address.to_string(), "0000:00:02.0");
  EXPECT_EQ(nic.vendor, 0x8086);
  EXPECT_EQ(nic.device, 0x10d3);
  EXPECT_EQ(nic.class_name(), "network");
  EXPECT_EQ(nic.driver, "e1000e");
  ASSERT_TRUE(nic.iommu_group.has_value());
  EXPECT_EQ(*nic.iommu_group, 2u);
  EXPECT_EQ(nic.numa_node, 0);
  EXPECT_EQ(nic.interfaces, std::vector<std::string>{"eth0"});
  EXPECT_EQ(nic.sriov_role, SriovRole::kNone);
  EXPECT_EQ((*devices)[3].driver, "");
  EXPECT_EQ((*devices)[3].class_name(), "serial-bus");
}

TEST_F(DriverBindingTest, MissingDeviceIsNamed) {
  Result<PciDevice> d = read_pci_device(files_, at("0000:00:09.0"));
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code(), ENODEV);
  EXPECT_NE(d.error().message().find("0000:00:09.0"), std::string::npos);
}

TEST_F(DriverBindingTest, BindsThroughDriverOverrideInTheKernelsOrder) {
  DriverBinding binding(files_, state_);
  Result<BindOutcome> r = binding.bind(at("00:02.0"), {});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_TRUE(r->changed);
  EXPECT_EQ(r->previous_driver, "e1000e");
  EXPECT_EQ(r->device.driver, "vfio-pci");
  EXPECT_EQ(files_.driver_of("0000:00:02.0"), "vfio-pci");
  using W = std::pair<std::string, std::string>;
  std::vector<W> expected = {
      {"sys/bus/pci/devices/0000:00:02.0/driver_override", "vfio-pci"},
      {"sys/bus/pci/drivers/e1000e/unbind", "0000:00:02.0"},
      {"sys/bus/pci/drivers_probe", "0000:00:02.0"},
  };
  EXPECT_EQ(files_.writes(), expected);
  // Never new_id: it would claim every device with these IDs.
  for (const W& w : files_.writes()) EXPECT_EQ(w.first.find("new_id"), std::string::npos);
  Result<std::vector<BindingRecord>> records = binding.records();
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0].original_driver, "e1000e");
  EXPECT_EQ((*records)[0].driver, "vfio-pci");
}

TEST_F(DriverBindingTest, BindingAgainIsANoOp) {
  DriverBinding binding(files_, state_);
  ASSERT_TRUE(binding.bind(at("00:02.0"), {}).ok());
  size_t writes = files_.writes().size();
  Result<BindOutcome> again = binding.bind(at("00:02.0"), {});
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->changed);
  EXPECT_EQ(files_.writes().size(), writes);
}

TEST_F(DriverBindingTest, RestoreReturnsToTheOriginalDriverAndDropsTheRecord) {
  DriverBinding binding(files_, state_);
  ASSERT_TRUE(binding.bind(at("00:02.0"), {}).ok());
  Result<BindOutcome> r = binding.restore(at("00:02.0"));
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_TRUE(r->changed);
  EXPECT_EQ(r->previous_driver, "vfio-pci");
  EXPECT_EQ(files_.driver_of("0000:00:02.0"), "e1000e");
  EXPECT_EQ(r->device.driver_override, "");
  EXPECT_TRUE(binding.records()->empty());
  // The original driver by name, after the override is cleared and vfio-pci let go.
  const auto& w = files_.writes();
  ASSERT_GE(w.size(), 3u);
  EXPECT_EQ(w[w.size() - 3].first, "sys/bus/pci/devices/0000:00:02.0/driver_override");
  EXPECT_EQ(w[w.size() - 2].first, "sys/bus/pci/drivers/vfio-pci/unbind");
  EXPECT_EQ(w[w.size() - 1].first, "sys/bus/pci/drivers/e1000e/bind");
}

TEST_F(DriverBindingTest, TheRecordSurvivesInAStateFileForALaterRun) {
  ASSERT_TRUE(DriverBinding(files_, state_).bind(at("00:02.0"), {}).ok());
  DriverBinding later(files_, state_);
  ASSERT_TRUE(later.restore(at("00:02.0")).ok());
  EXPECT_EQ(files_.driver_of("0000:00:02.0"), "e1000e");
}

TEST_F(DriverBindingTest, ACrashAfterTheUnbindIsUndoneByRestore) {
  files_.fail_write("drivers_probe", EIO);
  DriverBinding binding(files_, state_);
  Result<BindOutcome> r = binding.bind(at("00:02.0"), {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("binding 0000:00:02.0 to vfio-pci"), std::string::npos);
  // The errno's text once, as ringlane-ctl prints it.
  std::string shown = r.error().to_string();
  EXPECT_EQ(shown.find("Input/output error"), shown.rfind("Input/output error")) << shown;
  EXPECT_EQ(files_.driver_of("0000:00:02.0"), "");  // stranded with no driver
  Result<BindOutcome> back = DriverBinding(files_, state_).restore(at("00:02.0"));
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(files_.driver_of("0000:00:02.0"), "e1000e");
}

TEST_F(DriverBindingTest, RefusesANonViableGroupNamingTheOtherDevices) {
  DriverBinding binding(files_, state_);
  Result<BindOutcome> r = binding.bind(at("00:1f.2"), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), EBUSY);
  const std::string& m = r.error().message();
  EXPECT_NE(m.find("IOMMU group 4"), std::string::npos) << m;
  EXPECT_NE(m.find("0000:00:1f.0 (lpc_ich)"), std::string::npos) << m;
  // The unbound SMBus function does not block.
  EXPECT_EQ(m.find("0000:00:1f.3"), std::string::npos) << m;
  EXPECT_TRUE(files_.writes().empty());
  EXPECT_EQ(files_.driver_of("0000:00:1f.2"), "ahci");
}

TEST_F(DriverBindingTest, WithTheWholeGroupTheOtherMembersGoToVfioFirst) {
  DriverBinding binding(files_, state_);
  Result<BindOutcome> r = binding.bind(at("00:1f.2"), {.whole_group = true});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(files_.driver_of("0000:00:1f.0"), "vfio-pci");
  EXPECT_EQ(files_.driver_of("0000:00:1f.2"), "vfio-pci");
  EXPECT_EQ(files_.driver_of("0000:00:1f.3"), "");  // no driver: it did not block
  EXPECT_EQ(files_.writes()[0].first, "sys/bus/pci/devices/0000:00:1f.0/driver_override");
  ASSERT_EQ(binding.records()->size(), 2u);
  ASSERT_TRUE(binding.restore(at("00:1f.0")).ok());
  ASSERT_TRUE(binding.restore(at("00:1f.2")).ok());
  EXPECT_EQ(files_.driver_of("0000:00:1f.0"), "lpc_ich");
  EXPECT_EQ(files_.driver_of("0000:00:1f.2"), "ahci");
}

TEST_F(DriverBindingTest, WholeGroupAlsoCompletesTheGroupOfADeviceAlreadyOnVfio) {
  files_.add_device({.bdf = "0000:00:1f.4", .driver = "vfio-pci", .iommu_group = 4});
  DriverBinding binding(files_, state_);
  Result<BindOutcome> plain = binding.bind(at("00:1f.4"), {});
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->changed);
  Result<BindOutcome> r = binding.bind(at("00:1f.4"), {.whole_group = true});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_TRUE(r->changed);
  EXPECT_EQ(files_.driver_of("0000:00:1f.0"), "vfio-pci");
  EXPECT_EQ(files_.driver_of("0000:00:1f.2"), "vfio-pci");
  EXPECT_EQ(binding.records()->size(), 2u);  // not the one that was on vfio-pci already
}

TEST_F(DriverBindingTest, RefusesANicCarryingHostRoutesUnlessForced) {
  files_.set_ipv4_routes(
      "eth0\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
      "eth0\t0000000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
      "eth1\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n");
  DriverBinding binding(files_, state_);
  Result<BindOutcome> r = binding.bind(at("00:02.0"), {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("default via eth0, 10.0.0.0/24 via eth0"), std::string::npos)
      << r.error().message();
  EXPECT_NE(r.error().message().find("--force"), std::string::npos);
  EXPECT_EQ(files_.driver_of("0000:00:02.0"), "e1000e");
  Result<BindOutcome> forced = binding.bind(at("00:02.0"), {.force = true});
  ASSERT_TRUE(forced.ok()) << forced.error().to_string();
  EXPECT_EQ(files_.driver_of("0000:00:02.0"), "vfio-pci");
}

TEST_F(DriverBindingTest, RoutesThatAreDownOrElsewhereDoNotCount) {
  files_.set_ipv4_routes(
      "eth0\t00000000\t0100000A\t0002\t0\t0\t0\t00000000\t0\t0\t0\n"
      "eth1\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n");
  Result<std::vector<HostRoute>> routes = routes_through(files_, {"eth0"});
  ASSERT_TRUE(routes.ok());
  EXPECT_TRUE(routes->empty());
}

TEST_F(DriverBindingTest, DriverNamesThatAreNotNamesAreRefused) {
  DriverBinding binding(files_, state_);
  for (const char* name : {"../../../devices", "a/b", "", ".hidden", "two words"}) {
    Result<BindOutcome> r = binding.bind(at("00:02.0"), {.driver = name});
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_NE(r.error().message().find("is not a driver's name"), std::string::npos) << name;
  }
  EXPECT_TRUE(files_.writes().empty());
}

TEST_F(DriverBindingTest, ADriverThatIsNotLoadedIsNamed) {
  DriverBinding binding(files_, state_);
  Result<BindOutcome> r = binding.bind(at("00:02.0"), {.driver = "uio_pci_generic"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("modprobe uio_pci_generic"), std::string::npos);
}

TEST_F(DriverBindingTest, ADeviceWithoutIommuCannotGoToVfio) {
  files_.add_device({.bdf = "0000:00:05.0", .driver = "e1000e", .native_driver = "e1000e"});
  Result<BindOutcome> r = DriverBinding(files_, state_).bind(at("00:05.0"), {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("no IOMMU group"), std::string::npos);
}

TEST_F(DriverBindingTest, RestoreWithoutARecordRefuses) {
  Result<BindOutcome> r = DriverBinding(files_, state_).restore(at("00:02.0"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("not bound by ringlane"), std::string::npos);
}

TEST_F(DriverBindingTest, ACorruptStateFileIsAClearErrorNotACrash) {
  ASSERT_TRUE(write_file_atomically(state_, "{\"bindings\": [{\"device\": 7}]}").ok());
  Result<BindOutcome> r = DriverBinding(files_, state_).bind(at("00:02.0"), {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("is not a binding state file"), std::string::npos);
  EXPECT_EQ(files_.driver_of("0000:00:02.0"), "e1000e");
}

TEST_F(DriverBindingTest, GroupListsEveryMember) {
  Result<IommuGroup> g = read_iommu_group(files_, 4);
  ASSERT_TRUE(g.ok());
  ASSERT_EQ(g->devices.size(), 3u);
  EXPECT_EQ(describe_devices(devices_blocking_vfio(*g, at("00:1f.3"))),
            "0000:00:1f.0 (lpc_ich), 0000:00:1f.2 (ahci)");
}

}  // namespace
}  // namespace ringlane::vfio
