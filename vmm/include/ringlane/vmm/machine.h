// Machine: one KVM virtual machine with its RAM, in-kernel interrupt controllers and PIT, its
// vCPU, the serial console, the PCI bus, and the loop that runs the vCPU and serves its port and
// MMIO exits. Devices keep references into it, so it stays where create() put it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "ringlane/base/result.h"
#include "ringlane/vhost_user/guest_memory.h"
#include "ringlane/vmm/gsi_routing.h"
#include "ringlane/vmm/guest_ram.h"
#include "ringlane/vmm/kvm.h"
#include "ringlane/vmm/pci_bus.h"
#include "ringlane/vmm/serial_port.h"

namespace ringlane::vmm {

struct MachineConfig {
  uint64_t memory_bytes = 256ULL << 20;
  std::string cmdline;
  int serial_fd = 1;  // where the guest's console output goes
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
  shutdown,  // a triple fault
};

class Machine {
 public:
  static Result<std::unique_ptr<Machine>> create(const MachineConfig& config);
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;
  // Loads a PVH ELF kernel and puts the boot vCPU at its entry with the start-of-day state.
  Status boot_pvh(std::span<const uint8_t> kernel);
  // Runs the boot vCPU until the guest ends the machine or something fails.
  Result<MachineExit> run();

  const MachineCounters& counters() const { return counters_; }
  const BootTimes& boot_times() const { return boot_times_; }
  const GuestRam& ram() const { return ram_; }
  // Guest RAM as device models and backends address it (guest physical -> host pointer).
  const vhost_user::GuestMemory& guest_memory() const { return guest_memory_; }
  Vm& vm() { return vm_; }
  GsiRouting& gsi_routing() { return gsi_routing_; }
  PciBus& pci() { return pci_; }

 private:
  Machine(Kvm kvm, Vm vm, GuestRam ram, vhost_user::GuestMemory memory, Vcpu vcpu,
          const MachineConfig& config)
      : kvm_(std::move(kvm)),
        vm_(std::move(vm)),
        ram_(std::move(ram)),
        guest_memory_(std::move(memory)),
        vcpu_(std::move(vcpu)),
        config_(config),
        serial_(config.serial_fd),
        gsi_routing_(vm_) {}
  // Port I/O of the last exit; returns the exit cause when the guest ended the machine.
  std::optional<MachineExit> handle_pio(kvm_run& run);
  void handle_mmio(kvm_run& run);
  // Registers worth seeing when a guest dies, in one log line.
  void log_vcpu_state(const std::string& why) const;

  Kvm kvm_;
  Vm vm_;
  GuestRam ram_;
  vhost_user::GuestMemory guest_memory_;
  Vcpu vcpu_;
  MachineConfig config_;
  SerialPort serial_;
  GsiRouting gsi_routing_;
  PciBus pci_;
  MachineCounters counters_;
  BootTimes boot_times_;
};

}  // namespace ringlane::vmm
