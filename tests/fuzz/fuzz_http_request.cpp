// libFuzzer target: parse_http_request (with split_target and query_value) on arbitrary bytes,
// and VmApi on whatever reaches it (the parsed request, and the raw bytes as a PUT body). The API
// socket is open to any local client with access to it: nothing may crash, hang or read outside
// the input, a complete request must lie inside it, an error must stay an error however much
// more arrives, and every answer must be JSON.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ringlane/http/http_request.h"
#include "ringlane/vmm/api/vm_api.h"

namespace {

using namespace ringlane;
using namespace ringlane::vmm;
using namespace ringlane::http;

class FuzzNic : public Nic {
 public:
  const std::string& name() const override { return name_; }
  std::string model() const override { return "virtio-net"; }
  NicMode mode() const override { return mode_; }
  std::array<uint8_t, 6> mac() const override { return {0x52, 0x54, 0, 0x12, 0x34, 0x56}; }
  bool active() const override { return true; }
  NetBackendCounters counters() const override { return {}; }
  Status set_mode(NicMode mode) override {
    if (mode == NicMode::vhost) return Error(EINVAL, "net0 has no socket= for vhost mode");
    mode_ = mode;
    return {};
  }

 private:
  std::string name_ = "net0";
  NicMode mode_ = NicMode::virtio;
};

void check_answer(const ApiAnswer& a) {
  if (a.status != 200 && a.status != 400 && a.status != 404 && a.status != 405) __builtin_trap();
  nlohmann::json j = nlohmann::json::parse(a.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) __builtin_trap();
  if (a.status != 200 && !j.contains("fault_message")) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static MachineCounters machine;
  static std::vector<std::unique_ptr<Nic>> nics = [] {
    std::vector<std::unique_ptr<Nic>> v;
    v.push_back(std::make_unique<FuzzNic>());
    return v;
  }();
  static VmApi api(machine, nics, 256ULL << 20);

  // A copy of exactly `size` bytes on the heap, so ASan sees any read past the end.
  std::unique_ptr<char[]> copy(new char[size == 0 ? 1 : size]);
  if (size != 0) std::memcpy(copy.get(), data, size);
  std::string_view text(copy.get(), size);
  HttpParseResult r = parse_http_request(text);

  if (r.status == HttpParseStatus::complete) {
    const HttpRequest& q = r.request;
    const char* begin = text.data();
    const char* end = begin + text.size();
    auto inside = [&](std::string_view v) {
      return v.data() >= begin && v.data() + v.size() <= end;
    };
    if (q.size > size || q.size < 4 || !inside(q.method) || !inside(q.target) || !inside(q.body)) {
      __builtin_trap();
    }
    if (q.method != "GET" && q.method != "PUT" && q.method != "POST" && q.method != "DELETE") {
      __builtin_trap();
    }
    if (q.target.empty() || q.target.front() != '/') __builtin_trap();
    if (q.body.size() != q.content_length || q.content_length > kMaxHttpBody) __builtin_trap();
    if (q.body.data() + q.body.size() != begin + q.size) __builtin_trap();
    // The same request from exactly its bytes; one byte fewer is not yet a request.
    HttpParseResult exact = parse_http_request(text.substr(0, q.size));
    if (exact.status != HttpParseStatus::complete || exact.request.size != q.size) __builtin_trap();
    if (parse_http_request(text.substr(0, q.size - 1)).status != HttpParseStatus::incomplete) {
      __builtin_trap();
    }
    // The target's path and query: views into it, the path without a '?'.
    HttpTarget t = split_target(q.target);
    if (!inside(t.path) || !inside(t.query) || t.path.empty() || t.path.front() != '/' ||
        t.path.find('?') != std::string_view::npos) {
      __builtin_trap();
    }
    std::optional<std::string_view> port = query_value(t.query, "port");
    if (port && !inside(*port)) __builtin_trap();
    check_answer(api.handle(q.method, q.target, q.body));
  } else if (r.status != HttpParseStatus::incomplete) {
    // Refused now, refused whatever follows: the server may stop reading.
    if (http_status(r.status) < 400 || describe(r.status) == nullptr) __builtin_trap();
    std::string more(text);
    more += "\r\n\r\n";
    HttpParseStatus later = parse_http_request(more).status;
    if (later == HttpParseStatus::complete || later == HttpParseStatus::incomplete) {
      __builtin_trap();
    }
  }

  // The raw bytes as a mode switch's body.
  check_answer(api.handle("PUT", "/vm/nics/net0", text));
  return 0;
}
