#include "ringlane/vfio/driver_binding.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "ringlane/base/atomic_file.h"
#include "ringlane/vfio/host_routes.h"
#include "ringlane/vfio/iommu_group.h"

namespace ringlane::vfio {
namespace {

using nlohmann::json;

// Probing is synchronous for most drivers, but some finish on a worker: wait a little.
constexpr auto kProbeWait = std::chrono::seconds(5);

std::string driver_dir(const std::string& driver) {
  return "sys/bus/pci/drivers/" + driver;
}

// A driver's name becomes a sysfs path: nothing that could leave drivers/.
Status check_driver_name(const std::string& driver) {
  if (driver.empty() || driver.size() > 64 || driver.find('/') != std::string::npos ||
      driver.front() == '.' ||
      std::any_of(driver.begin(), driver.end(), [](char c) { return c <= ' ' || c >= 0x7f; })) {
    return Error(EINVAL, "'" + driver + "' is not a driver's name");
  }
  return {};
}

std::vector<BindingRecord>::iterator find_record(std::vector<BindingRecord>& records,
                                                 const PciAddress& address) {
  return std::find_if(records.begin(), records.end(),
                      [&](const BindingRecord& r) { return r.device == address; });
}

}  // namespace

Result<std::vector<BindingRecord>> DriverBinding::records() const {
  RINGLANE_ASSIGN_OR_RETURN(const UniqueFd lock, lock_state_file(state_path_));
  return load_records();
}

Result<std::vector<BindingRecord>> DriverBinding::load_records() const {
  Result<std::string> text = read_file(state_path_);
  if (!text.ok()) {
    if (text.error().code() == ENOENT) return std::vector<BindingRecord>{};
    return text.error();
  }
  json doc = json::parse(*text, nullptr, false);
  auto corrupt = [&] {
    return Error(EINVAL, state_path_ +
                             " is not a binding state file ringlane wrote; move it away to "
                             "start afresh (the devices it lists keep their present drivers)");
  };
  if (!doc.is_object() || !doc.contains("bindings") || !doc["bindings"].is_array()) {
    return corrupt();
  }
  std::vector<BindingRecord> records;
  for (const json& entry : doc["bindings"]) {
    if (!entry.is_object() || !entry.contains("device") || !entry["device"].is_string() ||
        !entry.contains("original_driver") || !entry["original_driver"].is_string() ||
        !entry.contains("driver") || !entry["driver"].is_string()) {
      return corrupt();
    }
    Result<PciAddress> address = PciAddress::parse(entry["device"].get<std::string>());
    if (!address.ok()) return corrupt();
    records.push_back({*address, entry["original_driver"].get<std::string>(),
                       entry["driver"].get<std::string>()});
  }
  return records;
}

Status DriverBinding::save_records(const std::vector<BindingRecord>& records) const {
  json list = json::array();
  for (const BindingRecord& r : records) {
    list.push_back({{"device", r.device.to_string()},
                    {"original_driver", r.original_driver},
                    {"driver", r.driver}});
  }
  return write_file_atomically(
      state_path_,
      json{{"bindings", list}}.dump(1, ' ', false, json::error_handler_t::replace) + "\n");
}

Result<PciDevice> DriverBinding::wait_for_driver(const PciAddress& address,
                                                 const std::string& driver) {
  auto deadline = std::chrono::steady_clock::now() + kProbeWait;
  for (;;) {
    RINGLANE_ASSIGN_OR_RETURN(PciDevice device, read_pci_device(files_, address));
    if (device.driver == driver) return device;
    if (std::chrono::steady_clock::now() >= deadline) {
      return Error(ENODEV, address.to_string() + " did not bind to " +
                               (driver.empty() ? std::string("no driver") : driver) + " (it has " +
                               (device.driver.empty() ? std::string("none") : device.driver) +
                               "); the kernel log (dmesg) says why");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// The kernel's order: name the driver first, so that nothing else claims the device between
// the unbind and the probe; then let the old driver go; then probe.
Status DriverBinding::move_to(const PciDevice& device, const std::string& driver) {
  const std::string bdf = device.address.to_string();
  const std::string dir = device_dir(device.address);
  RINGLANE_TRY(files_.write(dir + "/driver_override", driver.empty() ? "\n" : driver));
  if (!device.driver.empty()) {
    RINGLANE_TRY(files_.write(driver_dir(device.driver) + "/unbind", bdf));
  }
  return files_.write("sys/bus/pci/drivers_probe", bdf);
}

Status DriverBinding::check_routes(const PciDevice& device, bool force) {
  if (device.driver.empty() || force) return {};
  RINGLANE_ASSIGN_OR_RETURN(const std::vector<HostRoute> routes,
                            routes_through(files_, device.interfaces));
  if (routes.empty()) return {};
  std::string list;
  for (const HostRoute& r : routes) {
    list += (list.empty() ? "" : ", ") + r.destination + " via " + r.interface;
  }
  return Error(EBUSY, device.address.to_string() + " carries host routes (" + list +
                          "): unbinding it would cut the host off; --force to do it anyway");
}

// Records the original driver before touching anything, so a crash half-way can be undone.
Status DriverBinding::bind_one(const PciDevice& device, const std::string& driver) {
  RINGLANE_ASSIGN_OR_RETURN(std::vector<BindingRecord> records, load_records());
  auto it = find_record(records, device.address);
  if (it == records.end()) {
    records.push_back({device.address, device.driver, driver});
  } else {
    it->driver = driver;  // moved again: the first original stays the original
  }
  RINGLANE_TRY(save_records(records));
  if (Status moved = move_to(device, driver); !moved) {
    return Error(moved.error().code(), "binding " + device.address.to_string() + " to " + driver +
                                           ": " + moved.error().message());
  }
  RINGLANE_TRY(wait_for_driver(device.address, driver));
  return {};
}

Result<BindOutcome> DriverBinding::bind(const PciAddress& address, const BindOptions& options) {
  RINGLANE_ASSIGN_OR_RETURN(const UniqueFd lock, lock_state_file(state_path_));
  RINGLANE_ASSIGN_OR_RETURN(const PciDevice device, read_pci_device(files_, address));
  const std::string bdf = address.to_string();
  // Already there: nothing to do, unless the rest of its IOMMU group is to follow.
  const bool already = device.driver == options.driver;
  if (already && !(options.whole_group && options.driver == "vfio-pci")) {
    return BindOutcome{device, device.driver, false};
  }

  RINGLANE_TRY(check_driver_name(options.driver));
  if (!files_.exists(driver_dir(options.driver))) {
    return Error(ENOENT,
                 "driver " + options.driver + " is not loaded (modprobe " + options.driver + ")");
  }
  std::vector<PciDevice> group_first;
  if (options.driver == "vfio-pci") {
    if (!device.iommu_group) {
      return Error(EINVAL, bdf +
                               " has no IOMMU group: the host runs without an IOMMU "
                               "(enable VT-d/AMD-Vi and boot with intel_iommu=on or "
                               "amd_iommu=on)");
    }
    RINGLANE_ASSIGN_OR_RETURN(const IommuGroup group,
                              read_iommu_group(files_, *device.iommu_group));
    group_first = devices_blocking_vfio(group, address);
    if (!group_first.empty() && !options.whole_group) {
      return Error(EBUSY, "IOMMU group " + std::to_string(group.number) + " of " + bdf +
                              " is not viable for VFIO: other devices in it are bound to host "
                              "drivers: " +
                              describe_devices(group_first) +
                              "; bind them to vfio-pci first, or pass --whole-group");
    }
  }
  // Every check before the first change.
  for (const PciDevice& other : group_first) RINGLANE_TRY(check_routes(other, options.force));
  if (!already) RINGLANE_TRY(check_routes(device, options.force));
  for (const PciDevice& other : group_first) RINGLANE_TRY(bind_one(other, options.driver));
  if (!already) RINGLANE_TRY(bind_one(device, options.driver));
  RINGLANE_ASSIGN_OR_RETURN(PciDevice after, read_pci_device(files_, address));
  return BindOutcome{std::move(after), device.driver, !already || !group_first.empty()};
}

Result<BindOutcome> DriverBinding::restore(const PciAddress& address) {
  RINGLANE_ASSIGN_OR_RETURN(const UniqueFd lock, lock_state_file(state_path_));
  RINGLANE_ASSIGN_OR_RETURN(const PciDevice device, read_pci_device(files_, address));
  RINGLANE_ASSIGN_OR_RETURN(std::vector<BindingRecord> records, load_records());
  auto it = find_record(records, address);
  if (it == records.end()) {
    return Error(ENOENT, address.to_string() + " was not bound by ringlane (no record in " +
                             state_path_ +
                             "), so its original driver is unknown; bind it yourself");
  }
  const std::string original = it->original_driver;
  if (!original.empty()) RINGLANE_TRY(check_driver_name(original));
  if (!original.empty() && !files_.exists(driver_dir(original))) {
    return Error(ENOENT, "driver " + original + ", " + address.to_string() +
                             "'s original, is not loaded (modprobe " + original + ")");
  }
  bool changed = device.driver != original || !device.driver_override.empty();
  if (changed) {
    const std::string bdf = address.to_string();
    RINGLANE_TRY(files_.write(device_dir(address) + "/driver_override", "\n"));
    if (!device.driver.empty()) {
      RINGLANE_TRY(files_.write(driver_dir(device.driver) + "/unbind", bdf));
    }
    // The original driver by name: a probe could pick another that also matches.
    if (!original.empty()) {
      RINGLANE_TRY(files_.write(driver_dir(original) + "/bind", bdf));
    }
  }
  RINGLANE_ASSIGN_OR_RETURN(PciDevice after, wait_for_driver(address, original));
  records.erase(it);
  RINGLANE_TRY(save_records(records));
  return BindOutcome{std::move(after), device.driver, changed};
}

Status DriverBinding::forget(const PciAddress& address) {
  RINGLANE_ASSIGN_OR_RETURN(const UniqueFd lock, lock_state_file(state_path_));
  RINGLANE_ASSIGN_OR_RETURN(std::vector<BindingRecord> records, load_records());
  auto it = find_record(records, address);
  if (it == records.end()) return {};
  records.erase(it);
  return save_records(records);
}

}  // namespace ringlane::vfio
