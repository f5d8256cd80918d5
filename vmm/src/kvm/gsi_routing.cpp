#include "ringlane/vmm/kvm/gsi_routing.h"

#include <vector>

namespace ringlane::vmm {

Result<uint32_t> GsiRouting::allocate() {
  std::lock_guard lock(mutex_);
  if (next_gsi_ > kMaxGsi) return Error(ENOSPC, "no GSI left for MSI routes");
  return next_gsi_++;
}

Status GsiRouting::set_msi(uint32_t gsi, uint64_t address, uint32_t data) {
  std::lock_guard lock(mutex_);
  kvm_irq_routing_msi msi{};
  msi.address_lo = static_cast<uint32_t>(address);
  msi.address_hi = static_cast<uint32_t>(address >> 32);
  msi.data = data;
  msi_[gsi] = msi;
  return commit();
}

Status GsiRouting::commit() {
  std::vector<kvm_irq_routing_entry> entries;
  // The defaults: PIC master and slave pins (GSI 0-15, not the cascade), IOAPIC pins (0-23).
  for (uint32_t gsi = 0; gsi < 16; ++gsi) {
    if (gsi == 2) continue;
    kvm_irq_routing_entry e{};
    e.gsi = gsi;
    e.type = KVM_IRQ_ROUTING_IRQCHIP;
    e.u.irqchip.irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
    e.u.irqchip.pin = gsi % 8;
    entries.push_back(e);
  }
  for (uint32_t gsi = 0; gsi < kFirstMsiGsi; ++gsi) {
    kvm_irq_routing_entry e{};
    e.gsi = gsi;
    e.type = KVM_IRQ_ROUTING_IRQCHIP;
    e.u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
    e.u.irqchip.pin = gsi;
    entries.push_back(e);
  }
  for (const auto& [gsi, msi] : msi_) {
    kvm_irq_routing_entry e{};
    e.gsi = gsi;
    e.type = KVM_IRQ_ROUTING_MSI;
    e.u.msi = msi;
    entries.push_back(e);
  }
  return vm_.set_gsi_routing(entries);
}

}  // namespace ringlane::vmm
