#include "ringlane/vmm/nic/nic.h"

#include <cstdio>
#include <string_view>

#include "ringlane/base/option_parser.h"
#include "ringlane/vfio/pci_address.h"
#include "ringlane/vmm/nic/e1000_nic.h"
#include "ringlane/vmm/nic/passthrough_nic.h"
#include "ringlane/vmm/nic/virtio_nic.h"

namespace ringlane::vmm {

namespace {

Result<std::array<uint8_t, 6>> parse_mac(const std::string& text) {
  std::array<unsigned, 6> v{};
  char tail = 0;
  if (std::sscanf(text.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4],
                  &v[5], &tail) != 6) {
    return Error(EINVAL, "mac must look like 52:54:00:12:34:56, not '" + text + "'");
  }
  std::array<uint8_t, 6> mac{};
  for (size_t i = 0; i < 6; ++i) mac[i] = static_cast<uint8_t>(v[i]);
  if ((mac[0] & 1) != 0) return Error(EINVAL, "mac " + text + " is a multicast address");
  return mac;
}

}  // namespace

const char* to_string(NicMode mode) {
  switch (mode) {
    case NicMode::emulated:
      return "emulated";
    case NicMode::virtio:
      return "virtio";
    case NicMode::vhost:
      return "vhost";
    case NicMode::passthrough:
      return "passthrough";
  }
  return "?";
}

Result<NicMode> parse_nic_mode(const std::string& text) {
  // "e1000" names the emulated mode by its model, as users of other VMMs know it.
  if (text == "emulated" || text == "e1000") return NicMode::emulated;
  if (text == "virtio") return NicMode::virtio;
  if (text == "vhost") return NicMode::vhost;
  if (text == "passthrough") return NicMode::passthrough;
  return Error(
      EINVAL, "mode must be emulated (or e1000), virtio, vhost or passthrough, not '" + text + "'");
}

Result<NicSpec> parse_nic_spec(const std::string& text, size_t index) {
  static constexpr std::array<std::string_view, 9> kKeys = {
      "mode", "tap", "socket", "daemon", "port", "peer", "pci", "mac", "queue-size"};
  RINGLANE_ASSIGN_OR_RETURN(const OptionList fields, parse_options(text, kKeys));
  NicSpec spec;
  spec.name = "net" + std::to_string(index);
  spec.mac = {0x52, 0x54, 0x00, 0x12, 0x34, static_cast<uint8_t>(0x56 + index)};
  for (const auto& [key, value] : fields) {
    if (key == "mode") {
      Result<NicMode> mode = parse_nic_mode(value);
      if (!mode.ok()) return mode.error();
      spec.mode = *mode;
    } else if (key == "tap") {
      spec.tap = value;
    } else if (key == "socket") {
      spec.socket = value;
    } else if (key == "daemon" || key == "port" || key == "peer") {
      if (value.empty()) return Error(EINVAL, key + "= needs a value");
      if (key == "daemon") spec.daemon = value;
      if (key == "port") spec.port = value;
      if (key == "peer") spec.peer = value;
    } else if (key == "pci") {
      Result<vfio::PciAddress> address = vfio::PciAddress::parse(value);
      if (!address.ok()) return address.error();
      spec.pci = address->to_string();
    } else if (key == "mac") {
      Result<std::array<uint8_t, 6>> mac = parse_mac(value);
      if (!mac.ok()) return mac.error();
      spec.mac = *mac;
    } else if (key == "queue-size") {
      char* end = nullptr;
      unsigned long n = std::strtoul(value.c_str(), &end, 10);
      if (value.empty() || *end != 0 || n < 2 || n > 32768 || (n & (n - 1)) != 0) {
        return Error(EINVAL, "queue-size must be a power of two from 2 to 32768");
      }
      spec.queue_size = static_cast<uint16_t>(n);
    }
  }
  if (!fields.contains("mode")) return Error(EINVAL, "mode= is required");
  if (spec.mode == NicMode::passthrough) {
    if (spec.pci.empty()) return Error(EINVAL, "pci= is required in mode passthrough");
    if (!spec.tap.empty() || !spec.socket.empty() || !spec.daemon.empty() || !spec.port.empty() ||
        !spec.peer.empty() || fields.contains("mac") || fields.contains("queue-size")) {
      return Error(EINVAL,
                   "mode passthrough takes only pci= (the device has its own MAC and queues)");
    }
    return spec;
  }
  if (!spec.pci.empty()) return Error(EINVAL, "pci= is only for mode passthrough");
  if (spec.mode != NicMode::vhost && spec.tap.empty()) {
    return Error(EINVAL, std::string("tap= is required in mode ") + to_string(spec.mode));
  }
  if (spec.daemon.empty() && (!spec.port.empty() || !spec.peer.empty())) {
    return Error(EINVAL,
                 "port= and peer= describe the port a ringlane daemon creates: they need "
                 "daemon=");
  }
  if (!spec.daemon.empty() && spec.mode == NicMode::emulated) {
    return Error(EINVAL,
                 "daemon= serves a virtio-net card in vhost mode: it needs mode vhost or virtio");
  }
  if (spec.mode == NicMode::vhost && spec.socket.empty() && spec.daemon.empty()) {
    return Error(EINVAL, "socket= or daemon= is required in mode vhost");
  }
  return spec;
}

Result<std::unique_ptr<Nic>> attach_nic(Machine& machine, const NicSpec& spec) {
  if (spec.mode == NicMode::emulated) return E1000Nic::create(machine, spec);
  if (spec.mode == NicMode::passthrough) return PassthroughNic::create(machine, spec);
  return VirtioNic::create(machine, spec);
}

}  // namespace ringlane::vmm
