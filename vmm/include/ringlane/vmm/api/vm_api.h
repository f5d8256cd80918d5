// VmApi: the VMM's REST resources, as JSON, independent of the HTTP server that carries them:
//   GET /vm                  machine state, memory, VM exits by kind, API request counts
//   GET /vm/nics             every NIC with its model, mode, MAC and counters
//   PUT /vm/nics/{name}      {"mode": "virtio"|"vhost"}: the live mode switch
// It needs the machine's counters only, not the machine, so it can be built without KVM.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ringlane/http/http_response.h"
#include "ringlane/vmm/machine/machine.h"
#include "ringlane/vmm/nic/nic.h"

namespace ringlane::vmm {

// An answer as the HTTP server sends it: JSON; errors are {"fault_message": "..."}.
using ApiAnswer = http::HttpAnswer;

class VmApi {
 public:
  VmApi(const MachineCounters& machine, const std::vector<std::unique_ptr<Nic>>& nics,
        uint64_t memory_bytes)
      : machine_(machine), nics_(nics), memory_bytes_(memory_bytes) {}

  // Whether the guest is still running (set by the vCPU loop's owner).
  void set_running(bool running) { running_.store(running, std::memory_order_relaxed); }

  // One request, counted: routed to the resource, 404 for an unknown path, 405 for a method the
  // resource does not take. The body may be any bytes.
  ApiAnswer handle(std::string_view method, std::string_view path, std::string_view body);
  // A request the HTTP server refused before it reached a resource (malformed, too large,
  // incomplete), counted like the others: {"fault_message": message} with `status`.
  ApiAnswer refuse(int status, std::string_view message);

  // Requests taken, and those answered with an error status (4xx or 5xx), as GET /vm reports
  // them ("api_requests", "api_bad_requests").
  uint64_t requests() const { return requests_.load(std::memory_order_relaxed); }
  uint64_t bad_requests() const { return bad_requests_.load(std::memory_order_relaxed); }

 private:
  ApiAnswer route(std::string_view method, std::string_view path, std::string_view body) const;
  ApiAnswer get_vm() const;
  ApiAnswer get_nics() const;
  ApiAnswer put_nic(std::string_view name, std::string_view body) const;
  ApiAnswer counted(ApiAnswer answer);

  const MachineCounters& machine_;
  const std::vector<std::unique_ptr<Nic>>& nics_;
  uint64_t memory_bytes_;
  std::atomic<bool> running_{true};
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> bad_requests_{0};
};

}  // namespace ringlane::vmm
