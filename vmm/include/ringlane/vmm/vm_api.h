// VmApi: the VMM's REST resources, as JSON, independent of the HTTP server that carries them:
//   GET /vm                  machine state, memory, VM exits by kind
//   GET /vm/nics             every NIC with its model, mode, MAC and counters
//   PUT /vm/nics/{name}      {"mode": "virtio"|"vhost"}: the live mode switch
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "ringlane/vmm/machine.h"
#include "ringlane/vmm/nic.h"

namespace ringlane::vmm {

struct ApiAnswer {
  int status;
  std::string body;  // JSON; errors are {"fault_message": "..."}
};

class VmApi {
 public:
  VmApi(const Machine& machine, const std::vector<std::unique_ptr<Nic>>& nics,
        uint64_t memory_bytes)
      : machine_(machine), nics_(nics), memory_bytes_(memory_bytes) {}

  // Whether the guest is still running (set by the vCPU loop's owner).
  void set_running(bool running) { running_.store(running, std::memory_order_relaxed); }

  ApiAnswer get_vm() const;
  ApiAnswer get_nics() const;
  ApiAnswer put_nic(const std::string& name, const std::string& body) const;

 private:
  const Machine& machine_;
  const std::vector<std::unique_ptr<Nic>>& nics_;
  uint64_t memory_bytes_;
  std::atomic<bool> running_{true};
};

}  // namespace ringlane::vmm
