// E1000Nic: the "emulated" NIC mode as the VMM and its API see it: an 82540EM on the PCI bus
// with a TAP device behind it. It has one mode; a live switch to virtio would need the guest to
// change drivers, so it is refused.
#pragma once

#include <memory>

#include "ringlane/vmm/nic/e1000_device.h"
#include "ringlane/vmm/nic/nic.h"

namespace ringlane::vmm {

class E1000Nic : public Nic {
 public:
  static Result<std::unique_ptr<Nic>> create(Machine& machine, const NicSpec& spec);

  const std::string& name() const override { return spec_.name; }
  std::string model() const override { return "e1000"; }
  NicMode mode() const override { return NicMode::emulated; }
  std::array<uint8_t, 6> mac() const override { return spec_.mac; }
  bool active() const override { return device_->active(); }
  NetBackendCounters counters() const override { return device_->counters(); }
  Status set_mode(NicMode mode) override;

 private:
  E1000Nic(NicSpec spec, std::shared_ptr<E1000Device> device)
      : spec_(std::move(spec)), device_(std::move(device)) {}
  NicSpec spec_;
  std::shared_ptr<E1000Device> device_;
};

}  // namespace ringlane::vmm
