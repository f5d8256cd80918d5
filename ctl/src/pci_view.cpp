#include "ringlane/ctl/pci_view.h"

#include <cstdio>
#include <sstream>

namespace ringlane::ctl {
namespace {

using nlohmann::json;

std::string hex4(uint16_t value) {
  char text[8];
  std::snprintf(text, sizeof(text), "%04x", value);
  return text;
}

std::string or_dash(const std::string& s) {
  return s.empty() ? "-" : s;
}

std::string join(const std::vector<std::string>& items) {
  std::string text;
  for (const std::string& i : items) text += (text.empty() ? "" : ",") + i;
  return text;
}

std::string sriov_cell(const vfio::PciDevice& d) {
  switch (d.sriov_role) {
    case vfio::SriovRole::kPhysicalFunction:
      return "pf " + std::to_string(d.num_vfs) + "/" + std::to_string(d.total_vfs);
    case vfio::SriovRole::kVirtualFunction:
      return "vf" + (d.vf_index ? std::to_string(*d.vf_index) : std::string("?")) + " of " +
             (d.physical_function ? d.physical_function->to_string() : std::string("?"));
    case vfio::SriovRole::kNone:
      break;
  }
  return "-";
}

void add_row(std::ostringstream& out, const vfio::PciDevice& d) {
  char line[256];
  std::snprintf(line, sizeof(line), "%-12s  %s:%s  %-13s  %-10s  %5s  %4d  %-22s  %s\n",
                d.address.to_string().c_str(), hex4(d.vendor).c_str(), hex4(d.device).c_str(),
                d.class_name().c_str(), or_dash(d.driver).c_str(),
                d.iommu_group ? std::to_string(*d.iommu_group).c_str() : "-", d.numa_node,
                sriov_cell(d).c_str(), or_dash(join(d.interfaces)).c_str());
  out << line;
}

constexpr const char* kHeader =
    "DEVICE        VEN:DEV    CLASS          DRIVER      GROUP  NUMA  SRIOV                   "
    "INTERFACES\n";

}  // namespace

json to_json(const vfio::PciDevice& d) {
  json j = {
      {"address", d.address.to_string()},
      {"vendor", hex4(d.vendor)},
      {"device", hex4(d.device)},
      {"class", d.class_code},
      {"class_name", d.class_name()},
      {"driver", d.driver.empty() ? json(nullptr) : json(d.driver)},
      {"driver_override", d.driver_override.empty() ? json(nullptr) : json(d.driver_override)},
      {"iommu_group", d.iommu_group ? json(*d.iommu_group) : json(nullptr)},
      {"numa_node", d.numa_node},
      {"sriov_role", vfio::to_string(d.sriov_role)},
      {"interfaces", d.interfaces},
  };
  if (d.sriov_role == vfio::SriovRole::kPhysicalFunction) {
    j["total_vfs"] = d.total_vfs;
    j["num_vfs"] = d.num_vfs;
  }
  if (d.physical_function) j["physfn"] = d.physical_function->to_string();
  if (d.vf_index) j["vf_index"] = *d.vf_index;
  return j;
}

json to_json(const sriov::PhysicalFunction& pf) {
  json j = to_json(pf.device);
  json vfs = json::array();
  for (const sriov::VirtualFunction& vf : pf.vfs) {
    json v = to_json(vf.device);
    v["index"] = vf.index;
    vfs.push_back(std::move(v));
  }
  j["vfs"] = std::move(vfs);
  return j;
}

std::string format_pci_devices(const std::vector<vfio::PciDevice>& devices) {
  std::ostringstream out;
  out << kHeader;
  for (const vfio::PciDevice& d : devices) add_row(out, d);
  return out.str();
}

std::string format_pci_device(const vfio::PciDevice& d, const vfio::IommuGroup* group) {
  std::ostringstream out;
  out << "address:     " << d.address.to_string() << "\n"
      << "id:          " << hex4(d.vendor) << ":" << hex4(d.device) << "\n"
      << "class:       " << d.class_name() << "\n"
      << "driver:      " << or_dash(d.driver) << "\n"
      << "override:    " << or_dash(d.driver_override) << "\n"
      << "numa node:   " << d.numa_node << "\n"
      << "sriov:       " << sriov_cell(d) << "\n"
      << "interfaces:  " << or_dash(join(d.interfaces)) << "\n";
  if (group == nullptr) {
    out << "iommu group: - (no IOMMU: VFIO cannot use it)\n";
    return out.str();
  }
  std::vector<vfio::PciDevice> blocking = vfio::devices_blocking_vfio(*group, d.address);
  out << "iommu group: " << group->number << " ("
      << (blocking.empty() ? "viable for VFIO once this device is bound to vfio-pci"
                           : "not viable for VFIO: " + vfio::describe_devices(blocking))
      << ")\n";
  for (const vfio::PciDevice& member : group->devices) {
    out << "  " << member.address.to_string() << "  " << or_dash(member.driver) << "\n";
  }
  return out.str();
}

std::string format_physical_functions(const std::vector<sriov::PhysicalFunction>& pfs) {
  if (pfs.empty()) return "no device here can have virtual functions (none has SR-IOV)\n";
  std::ostringstream out;
  out << kHeader;
  for (const sriov::PhysicalFunction& pf : pfs) {
    add_row(out, pf.device);
    for (const sriov::VirtualFunction& vf : pf.vfs) add_row(out, vf.device);
  }
  return out.str();
}

}  // namespace ringlane::ctl
