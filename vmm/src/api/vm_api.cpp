#include "ringlane/vmm/api/vm_api.h"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace ringlane::vmm {

namespace {

using nlohmann::json;

// Messages may quote request bytes (a path, a NIC name): bytes that are not UTF-8 are replaced
// rather than thrown over.
ApiAnswer fault(int status, std::string_view message) {
  return {status,
          json{{"fault_message", message}}.dump(-1, ' ', false, json::error_handler_t::replace)};
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

ApiAnswer VmApi::handle(std::string_view method, std::string_view path, std::string_view body) {
  requests_.fetch_add(1, std::memory_order_relaxed);
  return counted(route(method, path, body));
}

ApiAnswer VmApi::refuse(int status, std::string_view message) {
  requests_.fetch_add(1, std::memory_order_relaxed);
  return counted(fault(status, message));
}

ApiAnswer VmApi::counted(ApiAnswer answer) {
  if (answer.status >= 400) bad_requests_.fetch_add(1, std::memory_order_relaxed);
  return answer;
}

ApiAnswer VmApi::route(std::string_view method, std::string_view path,
                       std::string_view body) const {
  constexpr std::string_view kNics = "/vm/nics";
  if (path == "/vm") return method == "GET" ? get_vm() : fault(405, "GET only");
  if (path == kNics) return method == "GET" ? get_nics() : fault(405, "GET only");
  if (path.size() > kNics.size() + 1 && path.substr(0, kNics.size()) == kNics &&
      path[kNics.size()] == '/') {
    if (method != "PUT") return fault(405, "PUT only");
    return put_nic(path.substr(kNics.size() + 1), body);
  }
  return fault(404, "no resource " + std::string(path));
}

ApiAnswer VmApi::get_vm() const {
  const MachineCounters& c = machine_;
  json vm = {{"state", running_.load(std::memory_order_relaxed) ? "running" : "stopped"},
             {"vcpus", 1},
             {"memory_mib", memory_bytes_ >> 20},
             {"exits",
              {{"total", c.exits.load()},
               {"pio", c.pio_exits.load()},
               {"mmio", c.mmio_exits.load()},
               {"unhandled_pio", c.unhandled_pio.load()},
               {"unhandled_mmio", c.unhandled_mmio.load()}}},
             {"api_requests", requests()},
             {"api_bad_requests", bad_requests()}};
  return {200, vm.dump()};
}

ApiAnswer VmApi::get_nics() const {
  json list = json::array();
  for (const auto& nic : nics_) list.push_back(nic_json(*nic));
  return {200, json{{"nics", list}}.dump()};
}

ApiAnswer VmApi::put_nic(std::string_view name, std::string_view body) const {
  Nic* nic = nullptr;
  for (const auto& n : nics_) {
    if (n->name() == name) nic = n.get();
  }
  if (nic == nullptr) return fault(404, "no NIC named '" + std::string(name) + "'");
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
