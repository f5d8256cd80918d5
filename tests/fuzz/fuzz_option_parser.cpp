// Fuzzes the key=value[,key=value] parser every spec goes through (--port, --nic), and the --nic
// spec on top of it (--port has fuzz_daemon_config). Any input must give a value or an error,
// never a crash; what the parser accepts must be the input, split (and unquoted) and nothing
// else.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ringlane/base/option_parser.h"
#include "ringlane/vmm/nic/nic.h"

namespace {

// Every key --port and --nic know, so that the seeds' specs parse.
constexpr std::array<std::string_view, 11> kKeys = {"name",    "path", "mode",      "queues",
                                                    "disable", "type", "tap",       "socket",
                                                    "pci",     "mac",  "queue-size"};

bool known(std::string_view key) {
  for (std::string_view k : kKeys) {
    if (k == key) return true;
  }
  return false;
}

void check_options(std::string_view text) {
  using namespace ringlane;
  Result<OptionList> options = parse_options(text, kKeys);
  if (!options.ok()) {
    if (options.error().message().empty()) __builtin_trap();
    return;
  }
  // Joined again, the items are the input: nothing dropped, trimmed or reordered.
  std::string joined;
  size_t index = 0;
  for (const Option& option : *options) {
    if (option.key.empty() || !known(option.key) || !options->contains(option.key)) {
      __builtin_trap();
    }
    // Each key once: the first item with this key is this one.
    size_t first = 0;
    for (const Option& other : *options) {
      if (other.key == option.key) break;
      ++first;
    }
    if (first != index) __builtin_trap();
    if (index++ > 0) joined += ',';
    // A value holding a comma can only have come in quotes (and then holds no quote).
    bool quoted = option.value.find(',') != std::string::npos;
    if (quoted && option.value.find('"') != std::string::npos) __builtin_trap();
    joined += option.key + "=" + (quoted ? "\"" + option.value + "\"" : option.value);
  }
  // Without quotes in the input, the items joined again are the input: nothing dropped, trimmed
  // or reordered. With them, the joined form parses to the same items.
  if (text.find('"') == std::string_view::npos) {
    if (joined != text) __builtin_trap();
    return;
  }
  Result<OptionList> again = parse_options(joined, kKeys);
  if (!again.ok() || again->size() != options->size()) __builtin_trap();
  auto a = options->begin();
  for (const Option& option : *again) {
    if (option.key != a->key || option.value != a->value) __builtin_trap();
    ++a;
  }
}

void check_nic_spec(const std::string& text) {
  using namespace ringlane::vmm;
  ringlane::Result<NicSpec> spec = parse_nic_spec(text, 0);
  if (!spec.ok()) return;
  if (spec->name != "net0") __builtin_trap();
  if (spec->mode == NicMode::passthrough && spec->pci.empty()) __builtin_trap();
  if (spec->mode != NicMode::passthrough && !spec->pci.empty()) __builtin_trap();
  // A vhost NIC attaches to a socket, or has a ringlane daemon make its port (daemon=), which
  // alone may name the port and its peer; an e1000 is never a daemon's.
  if (spec->mode == NicMode::vhost && spec->socket.empty() && spec->daemon.empty()) {
    __builtin_trap();
  }
  if (spec->daemon.empty() && (!spec->port.empty() || !spec->peer.empty())) __builtin_trap();
  if (spec->mode == NicMode::emulated && !spec->daemon.empty()) __builtin_trap();
  if (spec->mode == NicMode::passthrough && !spec->daemon.empty()) __builtin_trap();
  if ((spec->mode == NicMode::virtio || spec->mode == NicMode::emulated) && spec->tap.empty()) {
    __builtin_trap();
  }
  uint16_t q = spec->queue_size;
  if (q < 2 || (q & (q - 1)) != 0) __builtin_trap();
  if ((spec->mac[0] & 1) != 0) __builtin_trap();  // never a multicast address
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  check_options(text);
  check_nic_spec(text);
  return 0;
}
