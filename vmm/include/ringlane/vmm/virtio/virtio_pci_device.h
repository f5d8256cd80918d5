// VirtioPciDevice: the virtio 1.x PCI transport (virtio 1.2 section 4.1) for one VirtioDevice.
// BAR 0 holds the common configuration, ISR, device configuration and doorbells; BAR 2 the
// MSI-X table. Doorbells are ioeventfds (no exit to the VMM), interrupts irqfds on MSI-X GSIs;
// a driver that leaves MSI-X off gets INTx and the ISR instead (IntxRelay).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "ringlane/base/event_fd.h"
#include "ringlane/virtio/pci_spec.h"
#include "ringlane/vmm/kvm/gsi_routing.h"
#include "ringlane/vmm/kvm/interrupt_line.h"
#include "ringlane/vmm/kvm/kvm.h"
#include "ringlane/vmm/pci/intx_relay.h"
#include "ringlane/vmm/pci/msix_table.h"
#include "ringlane/vmm/pci/pci_device.h"
#include "ringlane/vmm/virtio/virtio_device.h"

namespace ringlane::vmm {

struct VirtioPciCounters {
  uint64_t register_reads = 0;
  uint64_t register_writes = 0;
  uint64_t doorbell_exits = 0;  // doorbells that reached the VMM instead of an ioeventfd
  uint64_t bad_accesses = 0;    // odd sizes, writes to read-only registers, bad queue numbers
};

class VirtioPciDevice : public PciDevice {
 public:
  static constexpr uint64_t kCommonOffset = 0x0000;
  static constexpr uint64_t kIsrOffset = 0x1000;
  static constexpr uint64_t kDeviceOffset = 0x2000;
  static constexpr uint64_t kNotifyOffset = 0x3000;
  static constexpr uint32_t kNotifyMultiplier = 4;
  static constexpr uint64_t kBar0Size = 0x4000;
  static constexpr int kMsixBar = 2;
  static constexpr uint64_t kMsixBarSize = 0x1000;
  static constexpr uint64_t kPbaOffset = 0x800;

  static Result<std::shared_ptr<VirtioPciDevice>> create(std::shared_ptr<VirtioDevice> device,
                                                         Vm& vm, GsiRouting& routing);
  ~VirtioPciDevice() override;

  std::string name() const override { return device_->name(); }
  void bar_read(int bar, uint64_t offset, std::span<uint8_t> data) override;
  void bar_write(int bar, uint64_t offset, std::span<const uint8_t> data) override;
  void config_written(uint16_t offset, uint8_t size, bool decoding_changed) override;
  // The interrupt line the bus wired INTA# to, for drivers that do not enable MSI-X.
  void set_interrupt_line(std::unique_ptr<InterruptLine> line);

  uint8_t status() const { return status_; }
  const VirtioPciCounters& counters() const { return counters_; }
  VirtioDevice& device() { return *device_; }

 private:
  struct Queue {
    VirtqueueConfig config;
    uint16_t msix_vector = virtio::kPciMsiNoVector;
    std::unique_ptr<EventFd> kick;
    std::unique_ptr<EventFd> call;
  };
  VirtioPciDevice(std::shared_ptr<VirtioDevice> device, Vm& vm, std::vector<Queue> queues);

  void common_read(uint64_t offset, std::span<uint8_t> data);
  void common_write(uint64_t offset, std::span<const uint8_t> data);
  void set_status(uint8_t status);
  void reset();
  // Doorbell ioeventfds follow BAR 0 (registered while memory decoding is on).
  void update_doorbells();
  // irqfds follow the queues' vectors and the vectors' masks; without MSI-X, the INTx relay
  // watches the interrupt eventfds instead.
  void update_irqfds();
  // A queue interrupt under INTx: ISR bit 0 and the line up (relay thread).
  void raise_intx();
  // Reading the ISR acknowledges it: bits returned and cleared, the line down.
  uint8_t read_isr();

  std::shared_ptr<VirtioDevice> device_;
  Vm& vm_;
  std::optional<MsixTable> msix_;  // set in create(): its change callback needs `this`
  std::vector<Queue> queues_;
  uint8_t msix_capability_ = 0;
  uint32_t device_feature_select_ = 0;
  uint32_t driver_feature_select_ = 0;
  uint64_t driver_features_ = 0;
  uint16_t queue_select_ = 0;
  uint16_t config_msix_vector_ = virtio::kPciMsiNoVector;
  uint8_t status_ = 0;
  uint8_t config_generation_ = 0;
  std::optional<uint64_t> doorbell_base_;      // where the ioeventfds are registered
  std::set<std::pair<int, uint32_t>> irqfds_;  // (eventfd, gsi) attached now
  VirtioPciCounters counters_;
  std::mutex intx_mutex_;  // ISR and line: vCPU thread against the relay thread
  std::unique_ptr<InterruptLine> intx_line_;
  uint8_t isr_ = 0;
  bool intx_high_ = false;
  bool intx_disabled_ = false;             // PCI command bit, kept here for the relay thread
  std::unique_ptr<IntxRelay> intx_relay_;  // last member: its thread stops first
};

}  // namespace ringlane::vmm
