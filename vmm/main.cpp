// ringlane-vmm: boots a guest kernel in a KVM virtual machine with a serial console and NICs.
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <vector>

#include "ringlane/base/monotonic_clock.h"
#include "ringlane/base/program.h"
#include "ringlane/base/unique_fd.h"
#include "ringlane/vmm/api/api_socket.h"
#include "ringlane/vmm/api/vm_api.h"
#include "ringlane/vmm/machine/machine.h"
#include "ringlane/vmm/nic/nic.h"
#include "ringlane/vmm/nic/signal_shutdown.h"
#include "ringlane/vmm/x86/bzimage_loader.h"

namespace {

constexpr const char* kProgram = "ringlane-vmm";

// A wrong input (arguments, kernel image) is a usage error; running the machine failed is not.
int fail(const std::string& message, int status = ringlane::kExitFailure) {
  return ringlane::report_failure(kProgram, message, status);
}

// kB figures of /proc/self/status lines such as "RssAnon:".
uint64_t status_kib(const std::string& status, const std::string& key) {
  size_t at = status.find("\n" + key + ":");
  if (at == std::string::npos) return 0;
  return std::strtoull(status.c_str() + at + key.size() + 2, nullptr, 10);
}

// Boot timing and the VMM's own memory, as one JSON object: guest memory is shared memory
// (RssShmem), so anonymous plus file-backed resident memory is the VMM's overhead.
bool write_boot_report(const std::string& path, int64_t main_ns, const ringlane::vmm::BootTimes& t,
                       uint64_t guest_memory) {
  std::ifstream in("/proc/self/status");
  std::string status((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ofstream out(path);
  out << "{\"main_ns\": " << main_ns << ", \"first_entry_ns\": " << t.first_entry_ns
      << ", \"first_exit_ns\": " << t.first_exit_ns
      << ", \"rss_anon_kib\": " << status_kib(status, "RssAnon")
      << ", \"rss_file_kib\": " << status_kib(status, "RssFile")
      << ", \"rss_shmem_kib\": " << status_kib(status, "RssShmem")
      << ", \"guest_memory_kib\": " << guest_memory / 1024 << "}\n";
  return out.good();
}

std::optional<std::vector<uint8_t>> read_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(file)),
                             std::istreambuf_iterator<char>());
  if (!file.good() && !file.eof()) return std::nullopt;
  return bytes;
}

}  // namespace

int run_vmm(int argc, char** argv) {
  const int64_t main_ns = ringlane::monotonic_ns();
  using namespace ringlane;
  CLI::App app{
      "ringlane-vmm: a minimal KVM virtual machine monitor. Boots a Linux bzImage (64-bit boot "
      "protocol, MP table, no ACPI) or a PVH ELF kernel with a serial console on 0x3f8; ends when "
      "the guest resets the machine (Linux: reboot with reboot=k) or halts every vCPU with "
      "interrupts off (Linux: halt, poweroff). SIGTERM and SIGINT end it too, after its NICs "
      "have given back what they hold (the ports ringlane daemons created for them), by that "
      "signal.\nExit status: 0 "
      "guest reset or halt, 1 the machine failed (KVM error, triple fault) or a NIC could not be "
      "set up (a ringlane daemon refused its port or did not answer), 2 bad arguments or kernel "
      "image."};
  std::string kernel_path;
  std::string initrd_path;
  std::string serial_path;
  bool serial_stdin = false;
  uint64_t memory_mib = 256;
  vmm::MachineConfig config;
  app.add_option("--kernel", kernel_path,
                 "Linux bzImage (recognised by its setup header), or a PVH ELF kernel "
                 "(XEN_ELFNOTE_PHYS32_ENTRY)")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--initrd", initrd_path, "initial RAM disk for a bzImage kernel")
      ->check(CLI::ExistingFile);
  app.add_option("--vcpus", config.vcpus, "virtual CPUs, 1-32 (default 1)")
      ->check(CLI::Range(1, 32));
  app.add_option("--memory", memory_mib, "guest memory in MiB, 16-3072 (default 256)")
      ->check(CLI::Range(16, 3072));
  app.add_option("--cmdline", config.cmdline, "kernel command line");
  app.add_flag("--hugepages", config.hugepages,
               "guest memory from the 2 MiB hugetlb pool (--memory a multiple of 2; the pool "
               "must hold it: /proc/sys/vm/nr_hugepages)");
  app.add_option("--serial", serial_path, "write the guest's console here (default: stdout)");
  app.add_flag("--serial-stdin", serial_stdin, "feed standard input to the guest's console");
  std::string boot_report;
  app.add_option("--boot-report", boot_report,
                 "on exit, write boot times (CLOCK_MONOTONIC ns of the first guest entry and "
                 "exit) and the VMM's resident memory here as JSON");
  std::string api_sock;
  app.add_option("--api-sock", api_sock,
                 "serve the REST API on this Unix socket: GET /vm, GET /vm/nics, "
                 "PUT /vm/nics/NAME {\"mode\": \"virtio\"|\"vhost\"} (ringlane-ctl vm drives it)");
  std::vector<std::string> nic_args;
  app.add_option("--nic", nic_args,
                 "a network card, repeatable: mode=emulated|virtio|vhost[,tap=NAME][,socket=PATH]"
                 "[,daemon=API_SOCK[,port=NAME][,peer=NAME]][,mac=52:54:00:12:34:56]"
                 "[,queue-size=256], or mode=passthrough,pci=BDF. "
                 "emulated (or e1000): an Intel 82540EM model, frames to the TAP device; "
                 "virtio: virtio-net-pci served by a VMM thread, frames to the TAP device; "
                 "vhost: the same card served by the vhost-user backend listening on PATH "
                 "(ringlane); passthrough: the host PCI device BDF, bound to vfio-pci, through "
                 "VFIO. Give both tap= and socket= (or daemon=) to switch modes live. "
                 "daemon=API_SOCK: a running ringlane daemon (ringlane --api-sock API_SOCK) is "
                 "asked to create the vhost-user port whenever vhost mode begins (POST /ports: "
                 "named NAME, default vm<pid>-net<N>; listening on PATH, default "
                 "<API_SOCK's directory>/ringlane-vmm-<pid>-net<N>.sock; cross-connected with "
                 "peer= in an xconnect daemon), and to remove it when the NIC switches to virtio "
                 "or the VMM ends (guest reset or halt, failed start, SIGTERM, SIGINT; not "
                 "SIGKILL: then the port stays until deleted, e.g. ringlane-ctl port del NAME). "
                 "A refusal ends the start with status 1, or refuses the switch with the "
                 "daemon's message");
  if (std::optional<int> exit_status = parse_command_line(app, argc, argv)) return *exit_status;
  std::vector<vmm::NicSpec> nics;
  for (const std::string& arg : nic_args) {
    Result<vmm::NicSpec> spec = vmm::parse_nic_spec(arg, nics.size());
    if (!spec.ok()) return fail("--nic " + arg + ": " + spec.error().message(), kExitUsage);
    nics.push_back(*spec);
  }

  UniqueFd serial;
  if (!serial_path.empty()) {
    serial = UniqueFd(open(serial_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!serial)
      return fail("cannot open " + serial_path + ": " + std::strerror(errno), kExitUsage);
    config.serial_fd = serial.get();
  }
  if (serial_stdin) config.serial_in_fd = STDIN_FILENO;
  std::optional<std::vector<uint8_t>> kernel = read_file(kernel_path);
  if (!kernel) return fail("cannot read " + kernel_path, kExitUsage);
  std::vector<uint8_t> initrd;
  if (!initrd_path.empty()) {
    std::optional<std::vector<uint8_t>> read = read_file(initrd_path);
    if (!read) return fail("cannot read " + initrd_path, kExitUsage);
    initrd = std::move(*read);
  }
  const bool linux_kernel = vmm::is_bzimage(*kernel);
  if (!linux_kernel && !initrd.empty()) {
    return fail("--initrd needs a bzImage kernel; " + kernel_path + " is not one", kExitUsage);
  }
  config.memory_bytes = memory_mib << 20;

  Result<std::unique_ptr<vmm::Machine>> created = vmm::Machine::create(config);
  if (!created.ok()) return fail(created.error().to_string());
  std::unique_ptr<vmm::Machine> machine = std::move(*created);
  std::vector<std::unique_ptr<vmm::Nic>> attached;
  // Before the first thread (the NICs start some) and destroyed before the NICs are: every exit
  // path that runs code gives back the ports daemons created (the NICs' destructors, or
  // shut_down on a signal).
  Result<std::unique_ptr<vmm::SignalShutdown>> signals = vmm::SignalShutdown::start();
  if (!signals.ok()) return fail(signals.error().to_string());
  std::unique_ptr<vmm::SignalShutdown> shutdown = std::move(*signals);
  for (const vmm::NicSpec& spec : nics) {
    std::unique_lock hold = shutdown->hold();
    Result<std::unique_ptr<vmm::Nic>> nic = vmm::attach_nic(*machine, spec);
    if (!nic.ok()) return fail(spec.name + ": " + nic.error().to_string());
    shutdown->add(**nic);
    attached.push_back(std::move(*nic));
  }
  Status booted = linux_kernel ? machine->boot_linux(*kernel, initrd) : machine->boot_pvh(*kernel);
  if (!booted.ok()) {
    return fail(kernel_path + ": " + booted.error().to_string(), kExitUsage);
  }
  vmm::VmApi api(machine->counters(), attached, config.memory_bytes);
  std::unique_ptr<vmm::ApiSocket> api_socket;
  if (!api_sock.empty()) {
    Result<std::unique_ptr<vmm::ApiSocket>> started = vmm::ApiSocket::start(api_sock, api);
    if (!started.ok()) return fail("--api-sock " + api_sock + ": " + started.error().to_string());
    api_socket = std::move(*started);
  }
  Result<vmm::MachineExit> end = machine->run();
  api.set_running(false);
  const vmm::MachineCounters& c = machine->counters();
  std::string counts = std::to_string(c.exits) + " exits (" + std::to_string(c.pio_exits) +
                       " port I/O, " + std::to_string(c.mmio_exits) + " MMIO; " +
                       std::to_string(c.unhandled_pio + c.unhandled_mmio) + " unhandled)";
  if (std::string ports = machine->unhandled_ports(); !ports.empty()) {
    counts += "; unhandled ports: " + ports;
  }
  if (!boot_report.empty() &&
      !write_boot_report(boot_report, main_ns, machine->boot_times(), config.memory_bytes)) {
    return fail("cannot write " + boot_report, kExitUsage);
  }
  if (!end.ok()) return fail(end.error().to_string() + " after " + counts);
  if (*end == vmm::MachineExit::shutdown) return fail("guest triple-faulted after " + counts);
  std::cerr << "ringlane-vmm: guest "
            << (*end == vmm::MachineExit::halt ? "halted (every vCPU in HLT with interrupts off)"
                                               : "reset the machine")
            << " after " << counts << "\n";
  if (Result<uint32_t> khz = machine->vm().tsc_khz(); khz.ok()) {
    std::cerr << "ringlane-vmm: guest TSC " << *khz << " kHz\n";
  }
  for (const std::unique_ptr<vmm::Nic>& nic : attached) {
    vmm::NetBackendCounters n = nic->counters();
    std::cerr << "ringlane-vmm: " << nic->name() << " (" << to_string(nic->mode())
              << "): " << n.tx_frames << " frames from the guest, " << n.rx_frames << " to it, "
              << n.drops << " dropped, " << n.kicks << " doorbells, " << n.interrupts
              << " interrupts\n";
  }
  return kExitDone;
}

int main(int argc, char** argv) {
  return ringlane::run_main(kProgram, run_vmm, argc, argv);
}
