#include "ringlane/ctl/host_commands.h"

#include <cstdio>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>

#include "ringlane/base/atomic_file.h"
#include "ringlane/base/program.h"
#include "ringlane/ctl/pci_view.h"
#include "ringlane/sriov/sysfs_vf_host.h"
#include "ringlane/sriov/vf_link.h"
#include "ringlane/sriov/vf_pool.h"
#include "ringlane/sriov/vf_settings_json.h"
#include "ringlane/sriov/virtual_functions.h"
#include "ringlane/vfio/iommu_group.h"
#include "ringlane/vfio/kernel_files.h"
#include "ringlane/vfio/pci_device.h"

namespace ringlane::ctl {
namespace {

using nlohmann::json;

constexpr int kRefused = kExitFailure;

// The message and the errno's text: for the kernel's refusals that text is its reason.
int refuse(const HostOptions& o, const Error& e, int status = kRefused) {
  std::string message = e.to_string();
  std::cerr << "ringlane-ctl: " << message << "\n";
  if (o.json) {
    const char* name = strerrorname_np(e.code());
    std::cout << json{{"error", message}, {"errno", name != nullptr ? name : "?"}}.dump(
                     -1, ' ', false, json::error_handler_t::replace)
              << "\n";
  }
  return status;
}

int print(const HostOptions& o, const json& doc, const std::string& text) {
  if (o.json) {
    std::cout << doc.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
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

std::string pool_state(const HostOptions& o) {
  return o.state_dir + "/vf-pool.json";
}

// A PF named by interface stays so; by PCI address, its (first) network interface.
Result<std::string> pf_interface(const HostOptions& o, const std::string& pf) {
  Result<vfio::PciAddress> a = vfio::PciAddress::parse(pf);
  if (!a.ok()) return pf;
  vfio::HostKernelFiles files(o.root);
  RINGLANE_ASSIGN_OR_RETURN(const vfio::PciDevice d, vfio::read_pci_device(files, *a));
  if (d.interfaces.empty()) {
    return Error(EOPNOTSUPP, pf + " has no network interface (" + d.class_name() + ", driver " +
                                 driver_name(d.driver) + "): VF settings go through a NIC's PF");
  }
  return d.interfaces.front();
}

json pool_json(const std::vector<sriov::VfRecord>& records) {
  return json::parse(sriov::state_to_json(records))["vfs"];
}

std::string pool_table(const std::vector<sriov::VfRecord>& records) {
  if (records.empty()) return "no VFs (sriov create makes some)\n";
  std::string out =
      "VF            PF            INDEX  STATE       GUEST         DRIVER      SETTINGS\n";
  for (const sriov::VfRecord& r : records) {
    char line[512];
    bool free = r.state == sriov::VfState::free;
    std::snprintf(line, sizeof(line), "%-12s  %-12s  %5u  %-10s  %-12s  %-10s  %s\n",
                  r.address.to_string().c_str(), r.pf.to_string().c_str(), r.index,
                  std::string(sriov::to_string(r.state)).c_str(), free ? "-" : r.guest.c_str(),
                  free ? "-" : r.driver.c_str(), free ? "-" : sriov::describe(r.settings).c_str());
    out += line;
  }
  return out;
}

// The pool over this host: sysfs for the VFs and their drivers, rtnetlink for their settings.
template <typename Use>
int with_pool(const HostOptions& o, Use use) {
  Result<sriov::VfLink> link = sriov::VfLink::open();
  if (!link.ok()) return refuse(o, link.error());
  vfio::HostKernelFiles files(o.root);
  vfio::DriverBinding binding(files, binding_state(o));
  sriov::SysfsVfHost host(std::move(*link), files, binding);
  sriov::VfPool pool(pool_state(o), host);
  return use(pool);
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

int sriov_destroy(const HostOptions& o, const std::string& pf, bool force) {
  Result<vfio::PciAddress> a = vfio::PciAddress::parse(pf);
  if (!a.ok()) return refuse(o, a.error());
  // A VF the pool gave a guest may be in use by its VM: destroying it would pull the device
  // from under the guest (or block in the kernel until the VM lets go).
  if (Result<std::string> state = read_file(pool_state(o)); state.ok() && !force) {
    Result<std::vector<sriov::VfRecord>> records = sriov::state_from_json(*state);
    if (records.ok()) {
      for (const sriov::VfRecord& r : *records) {
        if (r.pf != *a || r.state == sriov::VfState::free) continue;
        return refuse(
            o, Error(EBUSY, "VF " + std::to_string(r.index) + " of " + pf + " is " +
                                std::string(sriov::to_string(r.state)) + " for guest '" + r.guest +
                                "' (sriov pool release " + r.guest + " first, or --force)"));
      }
    }
  }
  vfio::HostKernelFiles files(o.root);
  vfio::DriverBinding binding(files, binding_state(o));
  Result<sriov::PhysicalFunction> r = sriov::destroy_vfs(files, binding, *a);
  if (!r.ok()) return refuse(o, r.error());
  return print(o, to_json(*r), a->to_string() + ": no VFs\n");
}

Result<sriov::VfSettings> to_vf_settings(const VfSettingsArgs& args) {
  sriov::VfSettings s;
  if (args.mac) {
    RINGLANE_ASSIGN_OR_RETURN(s.mac, sriov::MacAddress::parse(*args.mac));
  }
  if (args.vlan) {
    RINGLANE_ASSIGN_OR_RETURN(const sriov::VlanProtocol protocol,
                              sriov::parse_vlan_protocol(args.vlan_protocol));
    s.vlan = sriov::VfVlan{*args.vlan, args.qos, protocol};
  }
  s.spoof_check = args.spoof_check;
  s.trust = args.trust;
  if (args.min_rate_mbps || args.max_rate_mbps) {
    s.rate = sriov::VfRate{args.min_rate_mbps.value_or(0), args.max_rate_mbps.value_or(0)};
  }
  if (args.link_state) {
    RINGLANE_ASSIGN_OR_RETURN(s.link_state, sriov::parse_vf_link_state(*args.link_state));
  }
  return s;
}

int sriov_vfs(const HostOptions& o, const std::string& pf) {
  Result<std::string> ifname = pf_interface(o, pf);
  if (!ifname.ok()) return refuse(o, ifname.error());
  Result<sriov::VfLink> link = sriov::VfLink::open();
  if (!link.ok()) return refuse(o, link.error());
  Result<sriov::LinkVfs> vfs = link->vf_settings(*ifname);
  if (!vfs.ok()) return refuse(o, vfs.error());
  json list = json::array();
  std::string text = vfs->name + ": " +
                     (vfs->num_vfs ? std::to_string(*vfs->num_vfs) + " VFs" : "no SR-IOV") + "\n";
  for (const sriov::VfInfo& vf : vfs->vfs) {
    json j = sriov::to_json(vf.settings);
    j["index"] = vf.index;
    list.push_back(std::move(j));
    text += "  vf " + std::to_string(vf.index) + ": " + sriov::describe(vf.settings) + "\n";
  }
  json doc = {{"ifindex", vfs->ifindex},
              {"name", vfs->name},
              {"num_vfs", vfs->num_vfs ? json(*vfs->num_vfs) : json(nullptr)},
              {"vfs", list}};
  return print(o, doc, text);
}

int sriov_set(const HostOptions& o, const std::string& pf, uint32_t vf,
              const VfSettingsArgs& args) {
  Result<sriov::VfSettings> change = to_vf_settings(args);
  // Settings that cannot be (a bad MAC, minimum above maximum, none at all) are usage errors.
  if (!change.ok()) return refuse(o, change.error(), kExitUsage);
  if (change->empty()) {
    return refuse(o,
                  Error(EINVAL,
                        "nothing to set (give --mac, --vlan, --spoof-check, "
                        "--trust, --min-rate/--max-rate or --link-state)"),
                  kExitUsage);
  }
  Result<std::string> ifname = pf_interface(o, pf);
  if (!ifname.ok()) return refuse(o, ifname.error());
  Result<sriov::VfLink> link = sriov::VfLink::open();
  if (!link.ok()) return refuse(o, link.error());
  Status applied = link->apply(*ifname, vf, *change);
  if (!applied.ok()) return refuse(o, applied.error());
  json doc = {{"pf", *ifname}, {"vf", vf}, {"set", sriov::to_json(*change)}};
  return print(
      o, doc,
      "VF " + std::to_string(vf) + " of " + *ifname + ": " + sriov::describe(*change) + "\n");
}

int pool_list(const HostOptions& o) {
  return with_pool(o, [&](sriov::VfPool& pool) {
    Result<std::vector<sriov::VfRecord>> records = pool.records();
    if (!records.ok()) return refuse(o, records.error());
    return print(o, json{{"vfs", pool_json(*records)}}, pool_table(*records));
  });
}

int pool_allocate(const HostOptions& o, const std::string& guest, const VfSettingsArgs& args,
                  const std::string& driver) {
  Result<sriov::VfSettings> settings = to_vf_settings(args);
  if (!settings.ok()) return refuse(o, settings.error());
  return with_pool(o, [&](sriov::VfPool& pool) {
    Result<sriov::VfRecord> r = pool.allocate(guest, {*settings, driver});
    if (!r.ok()) return refuse(o, r.error());
    return print(o, pool_json({*r})[0],
                 "guest '" + guest + "': VF " + std::to_string(r->index) + " of " +
                     r->pf.to_string() + " at " + r->address.to_string() + ", bound to " +
                     r->driver + "\n");
  });
}

int pool_release(const HostOptions& o, const std::string& guest) {
  return with_pool(o, [&](sriov::VfPool& pool) {
    Status s = pool.release(guest);
    if (!s.ok()) return refuse(o, s.error());
    return print(o, json{{"released", guest}}, "guest '" + guest + "': no VF\n");
  });
}

int pool_repair(const HostOptions& o) {
  return with_pool(o, [&](sriov::VfPool& pool) {
    Status s = pool.repair();
    if (!s.ok()) return refuse(o, s.error());
    Result<std::vector<sriov::VfRecord>> records = pool.records();
    if (!records.ok()) return refuse(o, records.error());
    return print(o, json{{"vfs", pool_json(*records)}}, pool_table(*records));
  });
}

}  // namespace ringlane::ctl
