#include "ringlane/ctl/host_commands.h"

#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>

#include "ringlane/ctl/pci_view.h"
#include "ringlane/sriov/virtual_functions.h"
#include "ringlane/vfio/iommu_group.h"
#include "ringlane/vfio/kernel_files.h"
#include "ringlane/vfio/pci_device.h"

namespace ringlane::ctl {
namespace {

using nlohmann::json;

constexpr int kRefused = 1;

int refuse(const HostOptions& o, const Error& e) {
  std::cerr << "ringlane-ctl: " << e.message() << "\n";
  if (o.json) {
    const char* name = strerrorname_np(e.code());
    std::cout << json{{"error", e.message()}, {"errno", name != nullptr ? name : "?"}}.dump()
              << "\n";
  }
  return kRefused;
}

int print(const HostOptions& o, const json& doc, const std::string& text) {
  if (o.json) {
    std::cout << doc.dump() << "\n";
  } else {
    std::cout << text;
  }
  return 0;
}

std::string binding_state(const HostOptions& o) {
  return o.state_dir + "/pci-bindings.json";
}

std::string driver_name(const std::string& d) {
  return d.empty() ? "no driver" : d;
}

}  // namespace

int pci_list(const HostOptions& o, const std::string& class_name) {
  vfio::HostKernelFiles files(o.root);
  Result<std::vector<vfio::PciDevice>> devices = vfio::list_pci_devices(files);
  if (!devices.ok()) return refuse(o, devices.error());
  std::vector<vfio::PciDevice> shown;
  json list = json::array();
  for (const vfio::PciDevice& d : *devices) {
    if (!class_name.empty() && d.class_name() != class_name) continue;
    list.push_back(to_json(d));
    shown.push_back(d);
  }
  return print(o, json{{"devices", list}}, format_pci_devices(shown));
}

int pci_show(const HostOptions& o, const std::string& address) {
  Result<vfio::PciAddress> a = vfio::PciAddress::parse(address);
  if (!a.ok()) return refuse(o, a.error());
  vfio::HostKernelFiles files(o.root);
  Result<vfio::PciDevice> d = vfio::read_pci_device(files, *a);
  if (!d.ok()) return refuse(o, d.error());
  json doc = to_json(*d);
  std::optional<vfio::IommuGroup> group;
  if (d->iommu_group) {
    Result<vfio::IommuGroup> g = vfio::read_iommu_group(files, *d->iommu_group);
    if (!g.ok()) return refuse(o, g.error());
    group = std::move(*g);
    json members = json::array();
    for (const vfio::PciDevice& m : group->devices) {
      members.push_back({{"address", m.address.to_string()},
                         {"driver", m.driver.empty() ? json(nullptr) : json(m.driver)}});
    }
    json blocking = json::array();
    for (const vfio::PciDevice& b : vfio::devices_blocking_vfio(*group, *a)) {
      blocking.push_back(b.address.to_string());
    }
    doc["iommu_group_devices"] = members;
    doc["vfio_blocked_by"] = blocking;
  }
  vfio::DriverBinding binding(files, binding_state(o));
  if (Result<std::vector<vfio::BindingRecord>> records = binding.records(); records.ok()) {
    for (const vfio::BindingRecord& r : *records) {
      if (r.device == *a) doc["original_driver"] = r.original_driver;
    }
  }
  return print(o, doc, format_pci_device(*d, group ? &*group : nullptr));
}

int pci_bind(const HostOptions& o, const std::string& address, const vfio::BindOptions& bind) {
  Result<vfio::PciAddress> a = vfio::PciAddress::parse(address);
  if (!a.ok()) return refuse(o, a.error());
  vfio::HostKernelFiles files(o.root);
  vfio::DriverBinding binding(files, binding_state(o));
  Result<vfio::BindOutcome> r = binding.bind(*a, bind);
  if (!r.ok()) return refuse(o, r.error());
  json doc = to_json(r->device);
  doc["previous_driver"] = r->previous_driver.empty() ? json(nullptr) : json(r->previous_driver);
  doc["changed"] = r->changed;
  std::string text = r->changed ? a->to_string() + ": " + driver_name(r->previous_driver) + " -> " +
                                      r->device.driver + "\n"
                                : a->to_string() + ": already bound to " + r->device.driver + "\n";
  return print(o, doc, text);
}

int pci_unbind(const HostOptions& o, const std::string& address) {
  Result<vfio::PciAddress> a = vfio::PciAddress::parse(address);
  if (!a.ok()) return refuse(o, a.error());
  vfio::HostKernelFiles files(o.root);
  vfio::DriverBinding binding(files, binding_state(o));
  Result<vfio::BindOutcome> r = binding.restore(*a);
  if (!r.ok()) return refuse(o, r.error());
  json doc = to_json(r->device);
  doc["previous_driver"] = r->previous_driver.empty() ? json(nullptr) : json(r->previous_driver);
  doc["changed"] = r->changed;
  return print(o, doc,
               a->to_string() + ": " + driver_name(r->previous_driver) + " -> " +
                   driver_name(r->device.driver) + " (its original driver)\n");
}

int sriov_list(const HostOptions& o) {
  vfio::HostKernelFiles files(o.root);
  Result<std::vector<sriov::PhysicalFunction>> pfs = sriov::list_physical_functions(files);
  if (!pfs.ok()) return refuse(o, pfs.error());
  json list = json::array();
  for (const sriov::PhysicalFunction& pf : *pfs) list.push_back(to_json(pf));
  return print(o, json{{"physical_functions", list}}, format_physical_functions(*pfs));
}

int sriov_create(const HostOptions& o, const std::string& pf, uint32_t count,
                 const std::string& driver) {
  Result<vfio::PciAddress> a = vfio::PciAddress::parse(pf);
  if (!a.ok()) return refuse(o, a.error());
  vfio::HostKernelFiles files(o.root);
  vfio::DriverBinding binding(files, binding_state(o));
  Result<sriov::PhysicalFunction> r =
      sriov::create_vfs(files, binding, *a, {.count = count, .driver = driver});
  if (!r.ok()) return refuse(o, r.error());
  return print(o, to_json(*r), format_physical_functions({*r}));
}

int sriov_destroy(const HostOptions& o, const std::string& pf) {
  Result<vfio::PciAddress> a = vfio::PciAddress::parse(pf);
  if (!a.ok()) return refuse(o, a.error());
  vfio::HostKernelFiles files(o.root);
  vfio::DriverBinding binding(files, binding_state(o));
  Result<sriov::PhysicalFunction> r = sriov::destroy_vfs(files, binding, *a);
  if (!r.ok()) return refuse(o, r.error());
  return print(o, to_json(*r), a->to_string() + ": no VFs\n");
}

}  // namespace ringlane::ctl
