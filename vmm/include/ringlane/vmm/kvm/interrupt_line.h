// InterruptLine: a level-triggered interrupt input (a PCI device's INTx pin) as a device model
// drives it. KvmInterruptLine is a pin of KVM's in-kernel IOAPIC (KVM_IRQ_LINE); unit tests
// record the level instead.
#pragma once

#include <cstdint>

#include "ringlane/base/result.h"
#include "ringlane/vmm/kvm/kvm.h"

namespace ringlane::vmm {

class InterruptLine {
 public:
  virtual ~InterruptLine() = default;
  virtual Status set(bool high) = 0;
};

class KvmInterruptLine : public InterruptLine {
 public:
  KvmInterruptLine(Vm& vm, uint32_t gsi) : vm_(vm), gsi_(gsi) {}
  Status set(bool high) override { return vm_.set_irq_line(gsi_, high); }

 private:
  Vm& vm_;
  uint32_t gsi_;
};

}  // namespace ringlane::vmm
