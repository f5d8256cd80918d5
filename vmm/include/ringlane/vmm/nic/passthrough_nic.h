// PassthroughNic: the "passthrough" NIC mode as the VMM and its API see it: a host NIC (or an
// SR-IOV VF) on the guest's PCI bus through VFIO. The frames never pass through the VMM, so it
// has no frame counters, and the MAC address is the device's own (reported as zeros).
#pragma once

#include <memory>

#include "ringlane/vmm/nic/nic.h"
#include "ringlane/vmm/nic/passthrough_device.h"

namespace ringlane::vmm {

class PassthroughNic : public Nic {
 public:
  static Result<std::unique_ptr<Nic>> create(Machine& machine, const NicSpec& spec);

  const std::string& name() const override { return spec_.name; }
  std::string model() const override { return "passthrough " + device_->ids(); }
  NicMode mode() const override { return NicMode::passthrough; }
  std::array<uint8_t, 6> mac() const override { return {}; }
  bool active() const override { return device_->bus_master(); }
  NetBackendCounters counters() const override { return {}; }
  Status set_mode(NicMode mode) override;

 private:
  PassthroughNic(NicSpec spec, std::shared_ptr<PassthroughDevice> device)
      : spec_(std::move(spec)), device_(std::move(device)) {}
  NicSpec spec_;
  std::shared_ptr<PassthroughDevice> device_;
};

}  // namespace ringlane::vmm
