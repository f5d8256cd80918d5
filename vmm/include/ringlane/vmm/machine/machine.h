// Machine: one KVM virtual machine with its RAM, in-kernel interrupt controllers and PIT, its
// vCPUs (one thread each while it runs), the legacy PC devices (serial console, keyboard
// controller, CMOS clock), the PCI bus, the two buses port I/O and MMIO exits are dispatched on
// (io_bus.h: the legacy devices, the PCI configuration ports and every decoding BAR are ranges on
// them), and the loops that run the vCPUs and serve their exits. Devices keep references into it,
// so it stays where create() put it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "ringlane/base/result.h"
#include "ringlane/virtio/guest_memory.h"
#include "ringlane/vmm/devices/cmos_rtc.h"
#include "ringlane/vmm/devices/i8042.h"
#include "ringlane/vmm/devices/serial_port.h"
#include "ringlane/vmm/kvm/gsi_routing.h"
#include "ringlane/vmm/kvm/guest_ram.h"
#include "ringlane/vmm/kvm/kvm.h"
#include "ringlane/vmm/machine/byte_ports.h"
#include "ringlane/vmm/machine/chipset_ports.h"
#include "ringlane/vmm/machine/io_bus.h"
#include "ringlane/vmm/machine/pci_bar_windows.h"
#include "ringlane/vmm/pci/pci_bus.h"

namespace ringlane::vmm {

struct MachineConfig {
  uint64_t memory_bytes = 256ULL << 20;
  bool hugepages = false;  // guest RAM from the 2 MiB hugetlb pool
  std::string cmdline;
  int serial_fd = 1;      // where the guest's console output goes
  int serial_in_fd = -1;  // what the guest's console receives (none when negative)
  int vcpus = 1;          // 1 to kMaxVcpus; APs wait for INIT/SIPI from the boot vCPU
};

// VM exits by kind; guest accesses that hit nothing are counted and answered like an empty bus
// (reads all ones). Atomic: the API thread reads them while the vCPU runs.
struct MachineCounters {
  std::atomic<uint64_t> exits{0};
  std::atomic<uint64_t> pio_exits{0};
  std::atomic<uint64_t> mmio_exits{0};
  std::atomic<uint64_t> unhandled_pio{0};
  std::atomic<uint64_t> unhandled_mmio{0};
};

// When the boot vCPU first entered the guest and first came back (CLOCK_MONOTONIC, ns): the
// guest's first instruction ran between the two.
struct BootTimes {
  int64_t first_entry_ns = 0;
  int64_t first_exit_ns = 0;
};

enum class MachineExit {
  reset,     // the guest reset the machine (keyboard controller or port 0xcf9)
  halt,      // every vCPU halted with interrupts off: Linux's halt and poweroff without ACPI
  shutdown,  // a triple fault
};

class Machine {
 public:
  static Result<std::unique_ptr<Machine>> create(const MachineConfig& config);
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;
  // Loads a PVH ELF kernel and puts the boot vCPU at its entry with the start-of-day state.
  Status boot_pvh(std::span<const uint8_t> kernel);
  // Loads a Linux bzImage (and initrd, possibly empty) and puts the boot vCPU at its 64-bit entry;
  // writes the MP table that describes the vCPUs and interrupt routing.
  Status boot_linux(std::span<const uint8_t> kernel, std::span<const uint8_t> initrd);
  // Runs every vCPU, each on a thread of its own (the boot vCPU on the caller's), until the guest
  // ends the machine or something fails; then stops the others.
  Result<MachineExit> run();

  const MachineCounters& counters() const { return counters_; }
  const BootTimes& boot_times() const { return boot_times_; }
  const GuestRam& ram() const { return ram_; }
  // Guest RAM as device models and backends address it (guest physical -> host pointer).
  const virtio::GuestMemory& guest_memory() const { return guest_memory_; }
  // Ports the guest touched that nothing answers, with access counts ("0x2f9 x3, ..."), for
  // the exit report; empty when there were none.
  std::string unhandled_ports() const;
  int vcpu_count() const { return static_cast<int>(vcpus_.size()); }
  Vm& vm() { return vm_; }
  GsiRouting& gsi_routing() { return gsi_routing_; }
  PciBus& pci() { return pci_; }
  // A KVM memory slot of its own for a device's memory (a passed-through BAR); slot 0 is RAM.
  uint32_t allocate_memory_slot() { return next_memory_slot_++; }

 private:
  Machine(Kvm kvm, Vm vm, GuestRam ram, virtio::GuestMemory memory, std::vector<Vcpu> vcpus,
          const MachineConfig& config);
  // Puts the legacy devices and the PCI configuration ports on the port I/O bus, and has BAR
  // changes move the BARs' ranges.
  Status attach_devices();
  // Port I/O or MMIO of the last exit; return the exit cause when the guest ended the machine.
  std::optional<MachineExit> handle_pio(kvm_run& run);
  std::optional<MachineExit> handle_mmio(kvm_run& run);
  // Runs vCPU `index` until the machine ends or stop_all() asks it to.
  void vcpu_loop(size_t index);
  // Records how the machine ended (the first report wins) and makes every vCPU return.
  void stop_all(Result<MachineExit> outcome);
  // Feeds serial_in_fd to the serial port while the machine runs.
  void serial_input_loop();
  // Every kHaltProbePeriod, interrupts the vCPUs so that each tells whether it sits in HLT with
  // interrupts off (KVM handles HLT in the kernel and says nothing); ends the machine when all do.
  void halt_watch_loop();
  // On the vCPU's own thread, after an interrupted KVM_RUN: is it halted for good (or an AP that
  // was never started)?
  bool halted_for_good(const Vcpu& vcpu) const;
  // Registers worth seeing when a guest dies, in one log line.
  void log_vcpu_state(const Vcpu& vcpu, const std::string& why) const;

  Kvm kvm_;
  Vm vm_;
  GuestRam ram_;
  virtio::GuestMemory guest_memory_;
  std::vector<Vcpu> vcpus_;
  MachineConfig config_;
  // Device models see one access at a time, whichever vCPU makes it (and the serial feeder).
  std::mutex io_mutex_;
  SerialPort serial_;
  I8042 i8042_;
  CmosRtc rtc_;
  GsiRouting gsi_routing_;
  PciBus pci_;
  // Where exits are dispatched (under io_mutex_), and the devices as the buses see them.
  IoBus pio_bus_;
  IoBus mmio_bus_;
  BytePorts serial_ports_;
  BytePorts i8042_ports_;
  BytePorts rtc_ports_;
  BytePorts post_port_;
  ChipsetPorts chipset_ports_;
  PciBarWindows bar_windows_;
  // A device asked to end the machine during the access being served (under io_mutex_).
  std::optional<MachineExit> requested_exit_;
  MachineCounters counters_;
  BootTimes boot_times_;
  std::map<uint16_t, uint64_t> unhandled_ports_;  // under io_mutex_
  uint32_t next_memory_slot_ = 1;                 // at set-up and under io_mutex_

  // While run() runs: the vCPU threads (index 0 unused: the caller's), and how it ended.
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;  // wakes the halt watch when the machine stops
  std::vector<std::optional<std::thread::native_handle_type>> vcpu_threads_;
  std::optional<Result<MachineExit>> outcome_;
  std::atomic<bool> stopping_{false};
  // Per vCPU: halted with interrupts off when last asked (cleared by any exit). unique_ptr: atomics
  // do not move, and the vector is sized once run() knows the vCPUs.
  std::unique_ptr<std::atomic<bool>[]> halted_;
};

}  // namespace ringlane::vmm
