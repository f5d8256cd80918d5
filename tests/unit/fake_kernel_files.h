// FakeKernelFiles: a sysfs/procfs tree in a temporary directory that acts like the kernel when
// its control files are written (driver_override, unbind, bind, drivers_probe, sriov_numvfs),
// and keeps the order of those writes for the tests to check.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ringlane/vfio/kernel_files.h"

namespace ringlane::vfio::testing {

struct FakeDevice {
  std::string bdf{};
  uint16_t vendor = 0x8086;
  uint16_t device = 0x10d3;
  uint32_t class_code = 0x020000;
  std::string driver{};         // bound now ("" none)
  std::string native_driver{};  // what drivers_probe picks without an override
  int iommu_group = -1;         // -1: no IOMMU
  int numa_node = -1;
  std::vector<std::string> interfaces{};
  uint32_t total_vfs = 0;  // > 0: an SR-IOV physical function
};

class FakeKernelFiles : public HostKernelFiles {
 public:
  FakeKernelFiles();
  ~FakeKernelFiles() override;
  FakeKernelFiles(const FakeKernelFiles&) = delete;
  FakeKernelFiles& operator=(const FakeKernelFiles&) = delete;

  void add_driver(const std::string& name);
  void add_device(const FakeDevice& device);
  // The integration tests' guest's NVMe controller: 0000:00:03.0 on nvme, two VFs to give, with
  // the nvme and vfio-pci drivers loaded.
  void add_nvme_with_sriov();
  void set_ipv4_routes(const std::string& table);  // /proc/net/route's text
  // The next write to a path ending in `suffix` fails with `error` (once).
  void fail_write(const std::string& suffix, int error);

  Status write(const std::string& path, const std::string& value) override;

  const std::vector<std::pair<std::string, std::string>>& writes() const { return writes_; }
  std::string driver_of(const std::string& bdf);
  std::string dir() const { return root(); }

 private:
  void link(const std::string& path, const std::string& target);
  void bind_device(const std::string& bdf, const std::string& driver);
  Status write_numvfs(const std::string& pf, const std::string& value);

  std::map<std::string, FakeDevice> devices_;
  std::vector<std::pair<std::string, std::string>> writes_;
  std::map<std::string, int> failures_;
};

}  // namespace ringlane::vfio::testing
