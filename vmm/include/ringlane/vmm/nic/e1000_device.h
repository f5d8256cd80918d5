// E1000Device: an Intel 82540EM Gigabit Ethernet controller on the PCI bus, the "emulated" NIC
// mode. Every register access is a VM exit served here; a transmit doorbell (TDT) walks the
// descriptor ring on the vCPU thread and writes the frames to a TAP device; a receive thread
// moves frames from the TAP device into the receive ring. Interrupts are INTx, level-triggered:
// the line is high while ICR & IMS is non-zero, as on the real part.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "ringlane/base/event_fd.h"
#include "ringlane/base/result.h"
#include "ringlane/vmm/kvm/interrupt_line.h"
#include "ringlane/vmm/nic/e1000_eeprom.h"
#include "ringlane/vmm/nic/e1000_phy.h"
#include "ringlane/vmm/nic/e1000_transmit.h"
#include "ringlane/vmm/nic/net_backend.h"
#include "ringlane/uplink/tap_device.h"
#include "ringlane/vmm/pci/pci_device.h"

namespace ringlane::vmm {

// What the guest got wrong, beyond the frame counters.
struct E1000Faults {
  uint64_t bad_dma = 0;       // descriptor or buffer addresses outside guest RAM
  uint64_t bad_ring = 0;      // ring length or head/tail outside the ring
  uint64_t bad_offload = 0;   // offload requests the model could not honour
  uint64_t odd_accesses = 0;  // register accesses not 32 bits wide
};

class E1000Device : public PciDevice {
 public:
  static Result<std::shared_ptr<E1000Device>> create(const virtio::GuestMemory& memory, uplink::TapDevice tap,
                                                     const std::array<uint8_t, 6>& mac);
  ~E1000Device() override;

  std::string name() const override { return "e1000"; }
  void bar_read(int bar, uint64_t offset, std::span<uint8_t> data) override;
  void bar_write(int bar, uint64_t offset, std::span<const uint8_t> data) override;
  // Keeps the command register's bus mastering and INTx disable bits where the receive thread
  // may read them (configuration space itself is only touched on the vCPU thread).
  void config_written(uint16_t offset, uint8_t size, bool decoding_changed) override;

  // The interrupt line the bus wired INTA# to; the device stays silent until it has one.
  void set_interrupt_line(std::unique_ptr<InterruptLine> line);
  // The driver has enabled the receiver or the transmitter.
  bool active() const;
  NetBackendCounters counters() const;
  E1000Faults faults() const;

 private:
  E1000Device(const virtio::GuestMemory& memory, uplink::TapDevice tap, const std::array<uint8_t, 6>& mac,
              EventFd wake, EventFd stop);
  uint32_t& reg(uint32_t offset) { return regs_[offset / 4]; }
  uint32_t read_register(uint32_t offset);
  void write_register(uint32_t offset, uint32_t value);
  void reset();
  void raise(uint32_t causes);
  void update_interrupt();
  void transmit();
  void write_frame(std::span<const uint8_t> frame);

  void serve_receive();
  // Reads at most a burst from the TAP device into the receive ring; frames moved.
  int receive_burst();
  bool receive_ready();
  uint32_t free_receive_descriptors();
  bool accepts(std::span<const uint8_t> frame);
  // Writes one frame into the ring; the interrupt causes it raises.
  uint32_t deliver(std::span<const uint8_t> frame);

  const virtio::GuestMemory& memory_;
  uplink::TapDevice tap_;
  std::array<uint8_t, 6> mac_;
  EventFd wake_;  // RDT or RCTL written: the receiver may have room again
  EventFd stop_;

  mutable std::mutex mutex_;  // registers, rings and engines: vCPU thread vs receive thread
  std::vector<uint32_t> regs_;
  E1000Eeprom eeprom_;
  E1000Phy phy_;
  E1000Transmit transmitter_;
  uint32_t io_address_ = 0;
  std::unique_ptr<InterruptLine> line_;
  bool line_high_ = false;
  bool bus_master_ = false;     // PCI command: the device may use DMA
  bool intx_disabled_ = false;  // PCI command: INTx disable
  E1000Faults faults_;
  std::thread receiver_;

  std::atomic<uint64_t> rx_frames_{0}, rx_bytes_{0}, rx_drops_{0};
  std::atomic<uint64_t> tx_drops_{0}, doorbells_{0}, interrupts_{0}, wakeups_{0};
};

}  // namespace ringlane::vmm
