#include "ringlane/vfio/pci_device.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace ringlane::vfio {
namespace {

// sysfs writes numbers as "0x10d3\n" or "-1\n".
Result<int64_t> read_number(KernelFiles& files, const std::string& path) {
  RINGLANE_ASSIGN_OR_RETURN(const std::string text, files.read(path));
  char* end = nullptr;
  errno = 0;
  long long value = std::strtoll(text.c_str(), &end, 0);
  if (errno != 0 || end == text.c_str() || *end != '\0') {
    return Error(EINVAL, path + ": '" + text + "' is not a number");
  }
  return static_cast<int64_t>(value);
}

}  // namespace

const char* to_string(SriovRole role) {
  switch (role) {
    case SriovRole::kPhysicalFunction:
      return "pf";
    case SriovRole::kVirtualFunction:
      return "vf";
    case SriovRole::kNone:
      break;
  }
  return "none";
}

std::string PciDevice::class_name() const {
  switch (class_code >> 16) {
    case 0x01:
      return "storage";
    case 0x02:
      return "network";
    case 0x03:
      return "display";
    case 0x04:
      return "multimedia";
    case 0x06:
      return "bridge";
    case 0x07:
      return "communication";
    case 0x08:
      return "system";
    case 0x0c:
      return "serial-bus";
    default:
      break;
  }
  char text[16];
  std::snprintf(text, sizeof(text), "class 0x%02x", class_code >> 16);
  return text;
}

std::string device_dir(const PciAddress& address) {
  return "sys/bus/pci/devices/" + address.to_string();
}

Result<PciDevice> read_pci_device(KernelFiles& files, const PciAddress& address) {
  const std::string dir = device_dir(address);
  if (!files.exists(dir)) {
    return Error(ENODEV, "no PCI device " + address.to_string() + " (not in /" + dir + ")");
  }
  PciDevice d;
  d.address = address;
  RINGLANE_ASSIGN_OR_RETURN(const int64_t vendor, read_number(files, dir + "/vendor"));
  RINGLANE_ASSIGN_OR_RETURN(const int64_t device, read_number(files, dir + "/device"));
  RINGLANE_ASSIGN_OR_RETURN(const int64_t klass, read_number(files, dir + "/class"));
  d.vendor = static_cast<uint16_t>(vendor);
  d.device = static_cast<uint16_t>(device);
  d.class_code = static_cast<uint32_t>(klass);
  if (files.exists(dir + "/driver")) {
    Result<std::string> driver = link_name(files, dir + "/driver");
    if (driver.ok()) d.driver = *driver;
  }
  if (Result<std::string> o = files.read(dir + "/driver_override"); o.ok() && *o != "(null)") {
    d.driver_override = *o;
  }
  if (files.exists(dir + "/iommu_group")) {
    Result<std::string> group = link_name(files, dir + "/iommu_group");
    if (group.ok()) {
      char* end = nullptr;
      errno = 0;
      unsigned long number = std::strtoul(group->c_str(), &end, 10);
      // Not a number: as if there were no group, rather than group 0.
      if (errno == 0 && end != group->c_str() && *end == '\0' && number <= UINT32_MAX) {
        d.iommu_group = static_cast<uint32_t>(number);
      }
    }
  }
  if (Result<int64_t> node = read_number(files, dir + "/numa_node"); node.ok()) {
    d.numa_node = static_cast<int>(*node);
  }
  if (files.exists(dir + "/sriov_totalvfs")) {
    d.sriov_role = SriovRole::kPhysicalFunction;
    if (Result<int64_t> total = read_number(files, dir + "/sriov_totalvfs"); total.ok()) {
      d.total_vfs = static_cast<uint32_t>(*total);
    }
    if (Result<int64_t> num = read_number(files, dir + "/sriov_numvfs"); num.ok()) {
      d.num_vfs = static_cast<uint32_t>(*num);
    }
  } else if (files.exists(dir + "/physfn")) {
    d.sriov_role = SriovRole::kVirtualFunction;
    Result<std::string> pf_name = link_name(files, dir + "/physfn");
    if (pf_name.ok()) {
      if (Result<PciAddress> pf = PciAddress::parse(*pf_name); pf.ok()) {
        d.physical_function = *pf;
        // Which virtfnN of the PF points back here.
        if (Result<std::vector<VirtualFunctionLink>> vfs = virtual_function_links(files, *pf);
            vfs.ok()) {
          for (const VirtualFunctionLink& vf : *vfs) {
            if (vf.address == address) d.vf_index = vf.index;
          }
        }
      }
    }
  }
  // A NIC's interfaces sit in net/, or for virtio in its virtioN child's net/.
  if (Result<std::vector<std::string>> net = files.list(dir + "/net"); net.ok()) {
    d.interfaces = std::move(*net);
  } else if (Result<std::vector<std::string>> entries = files.list(dir); entries.ok()) {
    for (const std::string& e : *entries) {
      if (e.rfind("virtio", 0) != 0) continue;
      if (Result<std::vector<std::string>> v = files.list(dir + "/" + e + "/net"); v.ok()) {
        d.interfaces.insert(d.interfaces.end(), v->begin(), v->end());
      }
    }
  }
  return d;
}

Result<std::vector<VirtualFunctionLink>> virtual_function_links(KernelFiles& files,
                                                                const PciAddress& pf) {
  const std::string dir = device_dir(pf);
  RINGLANE_ASSIGN_OR_RETURN(const std::vector<std::string> entries, files.list(dir));
  std::vector<VirtualFunctionLink> links;
  for (const std::string& e : entries) {
    if (e.rfind("virtfn", 0) != 0) continue;
    Result<std::string> name = link_name(files, dir + "/" + e);
    if (!name.ok()) continue;  // going away
    Result<PciAddress> address = PciAddress::parse(*name);
    if (!address.ok()) continue;
    links.push_back({static_cast<uint32_t>(std::strtoul(e.c_str() + 6, nullptr, 10)), *address});
  }
  std::sort(
      links.begin(), links.end(),
      [](const VirtualFunctionLink& a, const VirtualFunctionLink& b) { return a.index < b.index; });
  return links;
}

Result<std::vector<PciDevice>> list_pci_devices(KernelFiles& files) {
  RINGLANE_ASSIGN_OR_RETURN(const std::vector<std::string> names,
                            files.list("sys/bus/pci/devices"));
  std::vector<PciDevice> devices;
  for (const std::string& name : names) {
    Result<PciAddress> address = PciAddress::parse(name);
    if (!address.ok()) continue;  // not a function's directory
    Result<PciDevice> device = read_pci_device(files, *address);
    // A device can vanish while listing (VFs being destroyed): skip it.
    if (device.ok()) devices.push_back(std::move(*device));
  }
  std::sort(devices.begin(), devices.end(),
            [](const PciDevice& a, const PciDevice& b) { return a.address < b.address; });
  return devices;
}

}  // namespace ringlane::vfio
