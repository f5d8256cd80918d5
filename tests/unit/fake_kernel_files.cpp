#include "fake_kernel_files.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace ringlane::vfio::testing {
namespace {

namespace fs = std::filesystem;

std::string make_root() {
  char pattern[] = "/tmp/rl-fake-sysfs-XXXXXX";
  return ::mkdtemp(pattern);
}

void put(const std::string& path, const std::string& contents) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << contents;
}

std::string hex(uint32_t value, int digits) {
  char text[16];
  std::snprintf(text, sizeof(text), "0x%0*x", digits, value);
  return text;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

constexpr std::string_view kDevices = "sys/bus/pci/devices/";
constexpr std::string_view kDrivers = "sys/bus/pci/drivers/";

}  // namespace

FakeKernelFiles::FakeKernelFiles() : HostKernelFiles(make_root()) {
  fs::create_directories(full("sys/bus/pci/devices"));
  fs::create_directories(full("sys/kernel/iommu_groups"));
  put(full("sys/bus/pci/drivers_probe"), "");
  set_ipv4_routes("");
}

FakeKernelFiles::~FakeKernelFiles() {
  fs::remove_all(root());
}

void FakeKernelFiles::link(const std::string& path, const std::string& target) {
  fs::create_directories(fs::path(full(path)).parent_path());
  fs::remove(full(path));
  fs::create_symlink(target, full(path));
}

void FakeKernelFiles::add_driver(const std::string& name) {
  put(full(std::string(kDrivers) + name + "/bind"), "");
  put(full(std::string(kDrivers) + name + "/unbind"), "");
}

void FakeKernelFiles::add_device(const FakeDevice& d) {
  devices_[d.bdf] = d;
  const std::string dir = full(std::string(kDevices) + d.bdf);
  put(dir + "/vendor", hex(d.vendor, 4) + "\n");
  put(dir + "/device", hex(d.device, 4) + "\n");
  put(dir + "/class", hex(d.class_code, 6) + "\n");
  put(dir + "/numa_node", std::to_string(d.numa_node) + "\n");
  put(dir + "/driver_override", "(null)\n");
  if (d.iommu_group >= 0) {
    std::string group = std::to_string(d.iommu_group);
    link(std::string(kDevices) + d.bdf + "/iommu_group", "../../../kernel/iommu_groups/" + group);
    link("sys/kernel/iommu_groups/" + group + "/devices/" + d.bdf,
         "../../../../bus/pci/devices/" + d.bdf);
  }
  for (const std::string& iface : d.interfaces) put(dir + "/net/" + iface + "/ifindex", "2\n");
  if (d.total_vfs > 0) {
    put(dir + "/sriov_totalvfs", std::to_string(d.total_vfs) + "\n");
    put(dir + "/sriov_numvfs", "0\n");
    put(dir + "/sriov_drivers_autoprobe", "1\n");
  }
  if (!d.driver.empty()) bind_device(d.bdf, d.driver);
}

void FakeKernelFiles::add_nvme_with_sriov() {
  add_driver("nvme");
  add_driver("vfio-pci");
  add_device({.bdf = "0000:00:03.0",
              .vendor = 0x1b36,
              .device = 0x0010,
              .class_code = 0x010802,
              .driver = "nvme",
              .native_driver = "nvme",
              .iommu_group = 3,
              .total_vfs = 2});
}

void FakeKernelFiles::set_ipv4_routes(const std::string& table) {
  put(full("proc/net/route"),
      "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n" +
          table);
}

void FakeKernelFiles::fail_write(const std::string& suffix, int error) {
  failures_[suffix] = error;
}

std::string FakeKernelFiles::driver_of(const std::string& bdf) {
  Result<std::string> name = link_name(*this, std::string(kDevices) + bdf + "/driver");
  return name.ok() ? *name : "";
}

void FakeKernelFiles::bind_device(const std::string& bdf, const std::string& driver) {
  link(std::string(kDevices) + bdf + "/driver", "../../drivers/" + driver);
  devices_[bdf].driver = driver;
}

Status FakeKernelFiles::write_numvfs(const std::string& pf, const std::string& value) {
  FakeDevice& d = devices_[pf];
  auto wanted = static_cast<uint32_t>(std::strtoul(value.c_str(), nullptr, 10));
  Result<std::string> now_text = read(std::string(kDevices) + pf + "/sriov_numvfs");
  auto now = static_cast<uint32_t>(std::strtoul(now_text->c_str(), nullptr, 10));
  if (d.driver.empty()) return Error(ENOENT, "write " + pf + "/sriov_numvfs");
  if (wanted > d.total_vfs) return Error(ERANGE, "write " + pf + "/sriov_numvfs");
  if (now != 0 && wanted != 0 && now != wanted) return Error(EBUSY, "write sriov_numvfs");
  bool autoprobe = *read(std::string(kDevices) + pf + "/sriov_drivers_autoprobe") == "1";
  // VFs take the functions after the PF's, as the NVMe controller in the tests does.
  std::string prefix = pf.substr(0, pf.size() - 1);
  int pf_function = pf.back() - '0';
  for (uint32_t i = 0; i < now; ++i) {
    std::string vf = prefix + std::to_string(pf_function + 1 + static_cast<int>(i));
    fs::remove_all(full(std::string(kDevices) + vf));
    fs::remove(full(std::string(kDevices) + pf + "/virtfn" + std::to_string(i)));
    devices_.erase(vf);
  }
  for (uint32_t i = 0; i < wanted; ++i) {
    std::string vf = prefix + std::to_string(pf_function + 1 + static_cast<int>(i));
    FakeDevice v;
    v.bdf = vf;
    v.vendor = d.vendor;
    v.device = d.device;
    v.class_code = d.class_code;
    v.native_driver = d.native_driver;
    v.iommu_group = d.iommu_group >= 0 ? d.iommu_group + 10 + static_cast<int>(i) : -1;
    v.driver = autoprobe ? d.native_driver : "";
    add_device(v);
    link(std::string(kDevices) + vf + "/physfn", "../" + pf);
    link(std::string(kDevices) + pf + "/virtfn" + std::to_string(i), "../" + vf);
  }
  put(full(std::string(kDevices) + pf + "/sriov_numvfs"), std::to_string(wanted) + "\n");
  return {};
}

Status FakeKernelFiles::write(const std::string& path, const std::string& value) {
  writes_.emplace_back(path, value);
  for (auto it = failures_.begin(); it != failures_.end(); ++it) {
    if (ends_with(path, it->first)) {
      int error = it->second;
      failures_.erase(it);
      return Error(error, "write '" + value + "' to " + full(path));
    }
  }
  if (path == "sys/bus/pci/drivers_probe") {
    auto it = devices_.find(value);
    if (it == devices_.end()) return Error(ENODEV, "drivers_probe");
    if (!it->second.driver.empty()) return {};
    std::string override_name = *read(std::string(kDevices) + value + "/driver_override");
    std::string driver = override_name != "(null)" ? override_name : it->second.native_driver;
    if (!driver.empty() && exists(std::string(kDrivers) + driver)) bind_device(value, driver);
    return {};
  }
  if (path.rfind(kDrivers, 0) == 0 && (ends_with(path, "/unbind") || ends_with(path, "/bind"))) {
    bool unbind = ends_with(path, "/unbind");
    std::string driver = path.substr(kDrivers.size());
    driver = driver.substr(0, driver.find('/'));
    auto it = devices_.find(value);
    if (it == devices_.end()) return Error(ENODEV, "write " + path);
    if (unbind) {
      if (it->second.driver != driver) return Error(ENODEV, "write " + path);
      fs::remove(full(std::string(kDevices) + value + "/driver"));
      it->second.driver.clear();
      return {};
    }
    if (!it->second.driver.empty()) return Error(EBUSY, "write " + path);
    std::string override_name = *read(std::string(kDevices) + value + "/driver_override");
    if (override_name != "(null)" && override_name != driver) {
      return Error(ENODEV, "write " + path);
    }
    bind_device(value, driver);
    return {};
  }
  if (ends_with(path, "/driver_override")) {
    std::string name = value;
    while (!name.empty() && name.back() == '\n') name.pop_back();
    put(full(path), (name.empty() ? "(null)" : name) + "\n");
    return {};
  }
  if (ends_with(path, "/sriov_numvfs")) {
    std::string pf = path.substr(kDevices.size());
    return write_numvfs(pf.substr(0, pf.find('/')), value);
  }
  return HostKernelFiles::write(path, value);
}

}  // namespace ringlane::vfio::testing
