// GsiRouting: the VM's interrupt routing table. KVM_SET_GSI_ROUTING replaces the whole table, so
// this keeps all of it: the default irqchip pins (PIC and IOAPIC, what the in-kernel irqchip
// starts with) and one MSI route per allocated GSI, which MSI-X vectors point their irqfds at.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <map>
#include <mutex>

#include "ringlane/base/result.h"
#include "ringlane/vmm/kvm/kvm.h"

namespace ringlane::vmm {

class GsiRouting {
 public:
  // IOAPIC pins are GSIs 0-23; MSI routes take the GSIs after them.
  static constexpr uint32_t kFirstMsiGsi = 24;
  static constexpr uint32_t kMaxGsi = 1023;

  explicit GsiRouting(Vm& vm) : vm_(vm) {}

  // A new GSI for MSI delivery, routed nowhere until set_msi().
  Result<uint32_t> allocate();
  // Routes `gsi` to the MSI message (address, data) and commits the table.
  Status set_msi(uint32_t gsi, uint64_t address, uint32_t data);

 private:
  Status commit();  // with mutex_ held

  Vm& vm_;
  std::mutex mutex_;  // vCPU threads program MSI-X tables concurrently
  uint32_t next_gsi_ = kFirstMsiGsi;
  std::map<uint32_t, kvm_irq_routing_msi> msi_;
};

}  // namespace ringlane::vmm
