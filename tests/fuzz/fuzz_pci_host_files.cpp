// libFuzzer target: what ringlane-ctl pci reads from the host, from arbitrary bytes: a PCI
// address typed by the user, the binding state file (which a crash or a person may have left
// in any shape), the kernel's route tables and a device's sysfs attributes. Nothing may crash;
// what parses must say what it parsed.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <string_view>

#include "ringlane/vfio/driver_binding.h"
#include "ringlane/vfio/host_routes.h"
#include "ringlane/vfio/pci_device.h"

namespace {

using namespace ringlane;
using namespace ringlane::vfio;

// A read-only tree in memory: files and links by path.
class MemoryFiles : public KernelFiles {
 public:
  std::map<std::string, std::string> files;
  std::map<std::string, std::string> links;

  Result<std::string> read(const std::string& path) override {
    auto it = files.find(path);
    if (it == files.end()) return Error(ENOENT, path);
    return it->second;
  }
  Status write(const std::string& path, const std::string&) override { return Error(EROFS, path); }
  Result<std::string> link_target(const std::string& path) override {
    auto it = links.find(path);
    if (it == links.end()) return Error(ENOENT, path);
    return it->second;
  }
  Result<std::vector<std::string>> list(const std::string& dir) override {
    std::vector<std::string> out;
    for (const auto& [p, v] : files) {
      if (p.rfind(dir + "/", 0) == 0 && p.find('/', dir.size() + 1) == std::string::npos) {
        out.push_back(p.substr(dir.size() + 1));
      }
    }
    if (out.empty()) return Error(ENOENT, dir);
    return out;
  }
  bool exists(const std::string& path) override {
    if (files.count(path) != 0 || links.count(path) != 0) return true;
    for (const auto& [p, v] : files) {
      if (p.rfind(path + "/", 0) == 0) return true;
    }
    return false;
  }
};

// The input cut into pieces at 0xff bytes.
std::vector<std::string> pieces(const uint8_t* data, size_t size) {
  std::vector<std::string> out(1);
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == 0xff) {
      out.emplace_back();
    } else {
      out.back().push_back(static_cast<char>(data[i]));
    }
  }
  out.resize(8);
  return out;
}

// In the working directory (the test's, in the build tree); plain writes, no fsync: the
// parser is what is fuzzed here, not the atomic replace.
constexpr const char* kStatePath = "fuzz-pci-bindings.json";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> p = pieces(data, size);

  Result<PciAddress> address = PciAddress::parse(p[0]);
  if (address.ok()) {
    // What parses prints back in the long form and parses again to the same address.
    Result<PciAddress> again = PciAddress::parse(address->to_string());
    if (!again.ok() || !(*again == *address)) __builtin_trap();
  }

  MemoryFiles files;
  const std::string dir = "sys/bus/pci/devices/0000:00:02.0";
  files.files[dir + "/vendor"] = p[1];
  files.files[dir + "/device"] = p[2];
  files.files[dir + "/class"] = "0x020000";
  files.files[dir + "/numa_node"] = p[3];
  files.files[dir + "/sriov_totalvfs"] = p[4];
  files.files[dir + "/net/eth0"] = "";
  files.links[dir + "/driver"] = p[5];
  files.links[dir + "/iommu_group"] = p[5];
  files.files["proc/net/route"] = p[6];
  files.files["proc/net/ipv6_route"] = p[6];
  (void)read_pci_device(files, *PciAddress::parse("0000:00:02.0"));
  (void)routes_through(files, {"eth0", p[5]});

  if (std::ofstream(kStatePath, std::ios::trunc) << p[7]) {
    DriverBinding binding(files, kStatePath);
    (void)binding.records();
    // The tree refuses writes, so restore either finds nothing to change or fails cleanly.
    (void)binding.restore(*PciAddress::parse("0000:00:02.0"));
  }
  return 0;
}
