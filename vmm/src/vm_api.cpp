#include "ringlane/vmm/vm_api.h"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace ringlane::vmm {

namespace {

using nlohmann::json;

ApiAnswer fault(int status, const std::string& message) {
  return {status, json{{"fault_message", message}}.dump()};
}

json nic_json(const Nic& nic) {
  std::array<uint8_t, 6> m = nic.mac();
  char mac[18];
  std::snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
                m[5]);
  NetBackendCounters c = nic.counters();
  return {{"name", nic.name()},
          {"model", nic.model()},
          {"mode", to_string(nic.mode())},
          {"mac", mac},
          {"active", nic.active()},
          {"counters",
           {{"rx_frames", c.rx_frames},
            {"tx_frames", c.tx_frames},
            {"rx_bytes", c.rx_bytes},
            {"tx_bytes", c.tx_bytes},
            {"drops", c.drops},
            {"kicks", c.kicks},
            {"interrupts", c.interrupts},
            {"wakeups", c.wakeups}}}};
}

}  // namespace

ApiAnswer VmApi::get_vm() const {
  const MachineCounters& c = machine_.counters();
  json vm = {{"state", running_.load(std::memory_order_relaxed) ? "running" : "stopped"},
             {"vcpus", 1},
             {"memory_mib", memory_bytes_ >> 20},
             {"exits",
              {{"total", c.exits.load()},
               {"pio", c.pio_exits.load()},
               {"mmio", c.mmio_exits.load()},
               {"unhandled_pio", c.unhandled_pio.load()},
               {"unhandled_mmio", c.unhandled_mmio.load()}}}};
  return {200, vm.dump()};
}

ApiAnswer VmApi::get_nics() const {
  json list = json::array();
  for (const auto& nic : nics_) list.push_back(nic_json(*nic));
  return {200, json{{"nics", list}}.dump()};
}

ApiAnswer VmApi::put_nic(const std::string& name, const std::string& body) const {
  Nic* nic = nullptr;
  for (const auto& n : nics_) {
    if (n->name() == name) nic = n.get();
  }
  if (nic == nullptr) return fault(404, "no NIC named '" + name + "'");
  json request = json::parse(body, nullptr, false);
  if (request.is_discarded() || !request.is_object()) {
    return fault(400, "the body must be a JSON object such as {\"mode\": \"vhost\"}");
  }
  auto mode_field = request.find("mode");
  if (mode_field == request.end() || !mode_field->is_string()) {
    return fault(400, "\"mode\" (a string) is required");
  }
  for (const auto& [key, value] : request.items()) {
    if (key != "mode") return fault(400, "unknown field '" + key + "'");
  }
  Result<NicMode> mode = parse_nic_mode(mode_field->get<std::string>());
  if (!mode.ok()) return fault(400, mode.error().message());
  if (Status s = nic->set_mode(*mode); !s.ok()) return fault(400, s.error().to_string());
  return {200, nic_json(*nic).dump()};
}

}  // namespace ringlane::vmm
