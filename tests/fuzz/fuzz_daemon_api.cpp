// Fuzzes the daemon API's request handling (DaemonApi) over a fake ControlTarget: routing,
// percent-decoding, queries, JSON bodies and their mapping onto --port and --disk keys. The input
// is one request: a control byte (bits 0-2 the method, bits 3-4 which error the target's mutating
// methods give), the target up to the first '\n', the body after it. Any input must give an
// answer with a known status and a well-formed body, never a crash, a throw or a hang; a port
// or disk the API hands to the target has passed validate_port() or validate_disk().
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ringlane/control/daemon_api.h"
#include "ringlane/control/daemon_config.h"

namespace {

using namespace ringlane;
using namespace ringlane::control;

// Says yes to everything (or, as the input asks, fails each change with one errno), and shows
// a port for any name that starts with "vm", so names with any bytes reach the JSON writer.
class YesTarget : public ControlTarget {
 public:
  explicit YesTarget(int error) : error_(error) {}

  DaemonInfo info() const override { return DaemonInfo{"0.1.0", "l2", "busy", 1.5, 2.5, 1000}; }
  std::vector<PortView> ports() const override { return {view("vm0"), view("up\"\\\n")}; }
  std::optional<PortView> port(std::string_view name) const override {
    if (name.substr(0, 2) != "vm") return std::nullopt;
    return view(name);
  }
  Status add_port(const PortConfig& config, std::string_view /*peer*/) override {
    if (!validate_port(config).ok()) __builtin_trap();  // the API checks before it asks
    return result();
  }
  Status remove_port(std::string_view /*name*/) override { return result(); }
  std::vector<DiskView> disks() const override { return {disk_view("d0"), disk_view("d\"\\\n")}; }
  std::optional<DiskView> disk(std::string_view name) const override {
    if (name.substr(0, 1) != "d") return std::nullopt;
    return disk_view(name);
  }
  Status add_disk(const DiskConfig& config) override {
    if (!validate_disk(config).ok()) __builtin_trap();  // the API checks before it asks
    return result();
  }
  Status remove_disk(std::string_view /*name*/) override { return result(); }
  std::vector<WorkerView> workers() const override {
    WorkerView w;
    w.queues = {WorkerQueue{"vm0", 0, 1, 1}};
    w.cycles_per_packet = std::numeric_limits<double>::infinity();  // JSON null, metrics +Inf
    return {w};
  }
  Status move_queue(std::string_view /*port*/, uint16_t /*queue_pair*/,
                    unsigned /*worker*/) override {
    return result();
  }
  Result<unsigned> rebalance() override {
    if (error_ != 0) return Error(error_, "refused");
    return 1u;
  }
  void reset_gaps() override {}
  std::vector<FdbEntry> fdb() const override {
    return {FdbEntry{0xffffffffffffffff, 4094, "vm0", 0}};
  }
  Result<size_t> flush_fdb(std::string_view /*port*/) override {
    if (error_ != 0) return Error(error_, "refused");
    return size_t{3};
  }

 private:
  static PortView view(std::string_view name) {
    PortView p;
    p.name = std::string(name);
    p.kind = "vhost";
    p.queues.resize(2);
    p.queues[1].queue_pair = 1;
    p.counters = {{std::string(name), 1}};
    return p;
  }
  static DiskView disk_view(std::string_view name) {
    DiskView d;
    d.name = std::string(name);
    d.image = std::string(name);
    d.features = {std::string(name)};
    d.queues.resize(2);
    d.queues[1].queue = 1;
    return d;
  }
  Status result() const {
    if (error_ != 0) return Error(error_, "refused");
    return {};
  }

  int error_;
};

}  // namespace

// libFuzzer names the entry point.
extern "C" int LLVMFuzzerTestOneInput(  // NOLINT(readability-identifier-naming)
    const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static constexpr std::string_view kMethods[] = {"GET", "PUT",  "POST", "DELETE",
                                                  "GET", "POST", "HEAD", ""};
  static constexpr int kErrors[] = {0, EEXIST, ENOENT, EIO};
  std::string_view method = kMethods[data[0] & 7];
  YesTarget target(kErrors[(data[0] >> 3) & 3]);
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  size_t newline = rest.find('\n');
  std::string_view request_target = rest.substr(0, newline);
  std::string_view body =
      newline == std::string_view::npos ? std::string_view() : rest.substr(newline + 1);

  DaemonApi api(target);
  ApiReply reply = api.handle(method, request_target, body);
  switch (reply.status) {
    case 200:
    case 201:
    case 400:
    case 404:
    case 405:
    case 409:
    case 500:
      break;
    default:
      __builtin_trap();
  }
  if (api.requests() != 1 || api.bad_requests() != (reply.status >= 400 ? 1u : 0u)) {
    __builtin_trap();
  }
  if (reply.content_type == "application/json") {
    nlohmann::json json = nlohmann::json::parse(reply.body, nullptr, false);
    if (json.is_discarded() || !json.is_object()) __builtin_trap();
    if (reply.status >= 400 && (json.size() != 1 || !json.contains("error"))) __builtin_trap();
  } else if (reply.status != 200 || reply.body.empty()) {
    __builtin_trap();  // the metrics
  }
  return 0;
}
