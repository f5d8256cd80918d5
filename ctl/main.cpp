// ringlane-ctl: drives a running ringlane daemon through its control API (--sock: ports, disks,
// workers, queues, the MAC table, a live top), a running ringlane-vmm through its REST API
// (--api-sock), and this host's PCI devices (driver binding for VFIO) and SR-IOV virtual functions.
#include <CLI/CLI.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "ringlane/base/program.h"
#include "ringlane/ctl/api_call.h"
#include "ringlane/ctl/daemon_commands.h"
#include "ringlane/ctl/host_commands.h"
#include "ringlane/ctl/vm_view.h"

namespace {

using namespace ringlane;
using nlohmann::json;

constexpr const char* kProgram = "ringlane-ctl";

// Exit status: the three every program has (ringlane/base/program.h), a refusal being the
// runtime failure here, and one of ringlane-ctl's own (ctl::kExitNoAnswer, api_call.h): no answer
// (cannot connect, timed out, or an answer that is not HTTP or not JSON), which a script may want
// to tell from a refusal.

struct Options {
  std::string api_sock;                          // ringlane-vmm's
  std::string sock = ctl::kDefaultDaemonSocket;  // the ringlane daemon's
  bool json = false;
  double timeout_s = 5.0;
};

ctl::ApiEndpoint endpoint(const Options& o, std::string socket_path) {
  return ctl::ApiEndpoint{std::move(socket_path),
                          std::chrono::milliseconds(static_cast<int64_t>(o.timeout_s * 1000.0))};
}

// The VF settings options `sriov set` and `sriov pool allocate` share.
void add_vf_settings_options(CLI::App* command, ctl::VfSettingsArgs& a) {
  command->add_option("--mac", a.mac, "the VF's MAC address");
  command->add_option("--vlan", a.vlan, "VLAN id the VF's traffic is tagged with (0: none)")
      ->check(CLI::Range(0, 4095));
  command->add_option("--qos", a.qos, "802.1p priority with --vlan (0-7)")->check(CLI::Range(0, 7));
  command->add_option("--vlan-proto", a.vlan_protocol, "802.1Q (default) or 802.1ad")
      ->check(CLI::IsMember({"802.1Q", "802.1ad", "802.1q", "802.1AD"}));
  auto on_off = CLI::IsMember({"on", "off"});
  command
      ->add_option_function<std::string>(
          "--spoof-check", [&a](const std::string& v) { a.spoof_check = v == "on"; },
          "drop frames the VF sends with another source MAC (on|off)")
      ->check(on_off);
  command
      ->add_option_function<std::string>(
          "--trust", [&a](const std::string& v) { a.trust = v == "on"; },
          "let the VF change its MAC and enter promiscuous mode (on|off)")
      ->check(on_off);
  // The kernel sets both rates at once: one alone would reset the other to 0 unseen.
  CLI::Option* min_rate = command->add_option("--min-rate", a.min_rate_mbps,
                                              "guaranteed transmit rate, Mbit/s (with --max-rate)");
  CLI::Option* max_rate = command->add_option(
      "--max-rate", a.max_rate_mbps, "transmit rate limit, Mbit/s, 0: none (with --min-rate)");
  min_rate->needs(max_rate);
  max_rate->needs(min_rate);
  command->add_option("--link-state", a.link_state, "auto, enable or disable")
      ->check(CLI::IsMember({"auto", "enable", "disable"}));
}

int fail(const std::string& message, int status) {
  return report_failure(kProgram, message, status);
}

}  // namespace

int run_ctl(int argc, char** argv) {
  CLI::App app{
      "ringlane-ctl: shows and changes a running ringlane daemon through the control API it "
      "serves on its --api-sock (ringlane-ctl's --sock), a running ringlane-vmm through the REST "
      "API it serves on its --api-sock (ringlane-ctl's --api-sock), both HTTP/1.1 + JSON on a "
      "Unix socket, and this host's PCI devices and SR-IOV virtual functions (as root)."};
  app.footer(
      "Commands on the ringlane daemon (--sock, default /run/ringlane/api.sock):\n"
      "  status                      version, mode, idle policy, uptime, counts\n"
      "  port list                   every port: kind, connected, queue pairs, VLANs, peer,\n"
      "                              packets, drops\n"
      "  port show NAME              one port: features, each queue pair's worker and counters\n"
      "  port add SPEC [--peer NAME] add a port from a --port spec (name=vm2,path=/run/vm2.sock,\n"
      "                              queues=2), cross-connected with NAME in xconnect mode\n"
      "  port del NAME               remove a port (its frontend is disconnected)\n"
      "  disk list                   every disk: connected, mode, queues, read-only, size,\n"
      "                              requests, bytes read and written, errors\n"
      "  disk show NAME              one disk: socket, image, features, each queue's worker and\n"
      "                              counters\n"
      "  disk add SPEC               serve a disk from a --disk spec (name=d1,path=/run/d1.sock,\n"
      "                              file=/var/lib/d1.img,queues=2)\n"
      "  disk del NAME               remove a disk (its frontend is disconnected once its\n"
      "                              requests in flight complete; the image is closed)\n"
      "  worker list                 workers: core, busy share, cycles/packet, queue pairs\n"
      "  worker rebalance            spread queue pairs over workers by measured cycles\n"
      "  queue move PORT QP WORKER   have WORKER poll PORT's queue pair QP\n"
      "  fdb show                    the L2 switch's learned MACs\n"
      "  fdb flush [--port NAME]     forget them (all, or those on one port)\n"
      "  top [--interval S] [--count N]\n"
      "                              live rates of ports and workers, every S seconds (default\n"
      "                              1), N times (default: until interrupted)\n"
      "Commands on ringlane-vmm (--api-sock):\n"
      "  vm status                   machine state, memory, VM exits, API request counts\n"
      "  vm nics                     every NIC: name, mode, model, MAC, frame and byte counters\n"
      "  vm set-mode NAME MODE       switch a NIC live to virtio (VMM thread and TAP) or vhost\n"
      "                              (ringlane over vhost-user; needs socket= on its --nic)\n"
      "  pci list [--class C]        PCI devices: IDs, class, driver, IOMMU group, NUMA node,\n"
      "                              SR-IOV role, network interfaces\n"
      "  pci show BDF                one device, with its IOMMU group and whether VFIO can use it\n"
      "  pci bind BDF [--driver D]   move it to D (vfio-pci) via driver_override, remembering its\n"
      "                              driver; refuses a non-viable IOMMU group (--whole-group "
      "binds\n"
      "                              the group) and a NIC carrying host routes (--force)\n"
      "  pci unbind BDF              back to the driver it had before pci bind\n"
      "  sriov list                  devices with SR-IOV and their virtual functions\n"
      "  sriov create PF N [--driver D]\n"
      "                              make N VFs (driver autoprobe off), bind each to D\n"
      "  sriov destroy PF [--force]  remove the PF's VFs (refused while the pool has given one\n"
      "                              to a guest)\n"
      "  sriov vfs PF                the VFs' settings as the PF reports them (PF: interface or "
      "BDF)\n"
      "  sriov set PF VF [--mac M] [--vlan N [--qos Q] [--vlan-proto P]] [--spoof-check on|off]\n"
      "            [--trust on|off] [--min-rate R] [--max-rate R] [--link-state S]\n"
      "  sriov pool list             VFs with their state and guest\n"
      "  sriov pool allocate GUEST [settings as for set] [--driver D]\n"
      "                              a free VF for GUEST (again: the same VF), its original\n"
      "                              settings and driver saved, then set and bound (vfio-pci)\n"
      "  sriov pool release GUEST    the VF's original settings and driver back; free again\n"
      "  sriov pool repair           undo what a crash left half-done\n"
      "Examples:\n"
      "  ringlane-ctl port list\n"
      "  ringlane-ctl --sock /tmp/rl.sock port add name=vm2,path=/tmp/vm2.sock,queues=2\n"
      "  ringlane-ctl disk add name=d1,path=/run/d1.sock,file=/var/lib/d1.img\n"
      "  ringlane-ctl queue move vm2 1 0\n"
      "  ringlane-ctl top --interval 2\n"
      "  ringlane-ctl --api-sock /run/vm0.api vm nics\n"
      "  ringlane-ctl --api-sock /run/vm0.api vm set-mode net0 vhost\n"
      "  ringlane-ctl pci bind 0000:03:00.0 --json\n"
      "  ringlane-ctl sriov create 0000:03:00.0 4 --driver vfio-pci\n"
      "Exit status: 0 done, 1 refused (the daemon, ringlane-vmm or the kernel said no, or a "
      "check failed; the reason is printed with the HTTP status if there was one, and for pci "
      "and sriov with --json also as {\"error\": ...} on stdout), 2 bad command line, 3 no "
      "answer from the daemon or ringlane-vmm (cannot connect, timed out, or not an HTTP/JSON "
      "answer).");
  app.require_subcommand(1);
  app.fallthrough();  // global options also after the command
  Options o;
  app.add_option("--sock", o.sock,
                 "the ringlane daemon's API socket (its --api-sock), for status, port, disk, "
                 "worker, queue, fdb and top (default /run/ringlane/api.sock)");
  app.add_option("--api-sock", o.api_sock,
                 "ringlane-vmm's API socket (its --api-sock); needed by the vm commands");
  app.add_flag("--json", o.json,
               "print JSON (for the daemon's and vm commands, the answer as it is; for top, one "
               "object per view and line)");
  ctl::HostOptions host;
  app.add_option("--state-dir", host.state_dir,
                 "where pci bind records each device's original driver (default /run/ringlane)");
  app.add_option("--sysfs-root", host.root, "where sysfs and procfs are mounted (default /)")
      ->group("");  // for tests on a fake tree
  app.add_option("--timeout", o.timeout_s, "seconds to wait for the whole exchange (default 5)")
      ->check(CLI::Range(0.001, 3600.0));

  CLI::App* vm = app.add_subcommand("vm", "the virtual machine: status, nics, set-mode");
  vm->require_subcommand(1);
  CLI::App* status = vm->add_subcommand("status", "machine state, memory, VM exits (GET /vm)");
  CLI::App* nics = vm->add_subcommand("nics", "NICs with mode and counters (GET /vm/nics)");
  CLI::App* set_mode =
      vm->add_subcommand("set-mode", "switch a NIC's mode live (PUT /vm/nics/NAME)");
  std::string nic_name, mode;
  set_mode->add_option("NAME", nic_name, "the NIC, as vm nics names it (net0, net1, ...)")
      ->required();
  set_mode->add_option("MODE", mode, "virtio or vhost")
      ->required()
      ->check(CLI::IsMember({"virtio", "vhost"}));

  ctl::DaemonCommands daemon(app);

  CLI::App* pci = app.add_subcommand("pci", "host PCI devices: list, show, bind, unbind");
  pci->require_subcommand(1);
  CLI::App* pci_list = pci->add_subcommand("list", "PCI devices with driver and IOMMU group");
  std::string class_name;
  pci_list->add_option("--class", class_name, "only this class (network, storage, ...)");
  CLI::App* pci_show = pci->add_subcommand("show", "one device and its IOMMU group");
  CLI::App* pci_bind = pci->add_subcommand("bind", "bind a device to a driver (vfio-pci)");
  CLI::App* pci_unbind = pci->add_subcommand("unbind", "return a device to its original driver");
  std::string address;
  vfio::BindOptions bind;
  for (CLI::App* c : {pci_show, pci_bind, pci_unbind}) {
    c->add_option("BDF", address, "the device: 0000:03:00.0 or 03:00.0")->required();
  }
  pci_bind->add_option("--driver", bind.driver, "the driver to bind to (default vfio-pci)");
  pci_bind->add_flag("--force", bind.force, "even if host routes go through the NIC");
  pci_bind->add_flag("--whole-group", bind.whole_group,
                     "first bind the IOMMU group's other devices that keep it from being viable");

  CLI::App* sriov =
      app.add_subcommand("sriov", "SR-IOV virtual functions: list, create, destroy, set, pool");
  sriov->require_subcommand(1);
  CLI::App* sriov_list = sriov->add_subcommand("list", "devices with SR-IOV and their VFs");
  CLI::App* sriov_create = sriov->add_subcommand("create", "make N VFs on a PF");
  CLI::App* sriov_destroy = sriov->add_subcommand("destroy", "remove a PF's VFs");
  uint32_t vf_count = 0;
  std::string vf_driver;
  for (CLI::App* c : {sriov_create, sriov_destroy}) {
    c->add_option("PF", address, "the physical function: 0000:03:00.0")->required();
  }
  sriov_create->add_option("N", vf_count, "how many VFs")->required()->check(CLI::Range(1, 65535));
  sriov_create->add_option("--driver", vf_driver, "bind each VF to this driver (vfio-pci)");
  bool destroy_force = false;
  sriov_destroy->add_flag("--force", destroy_force,
                          "even while the VF pool has given VFs of this PF to guests");
  CLI::App* sriov_vfs = sriov->add_subcommand("vfs", "the VFs' settings (rtnetlink)");
  CLI::App* sriov_set = sriov->add_subcommand("set", "change a VF's settings (rtnetlink)");
  std::string pf_name;
  for (CLI::App* c : {sriov_vfs, sriov_set}) {
    c->add_option("PF", pf_name, "the PF: its network interface (eth0) or PCI address")->required();
  }
  uint32_t vf_index = 0;
  sriov_set->add_option("VF", vf_index, "the VF's number on the PF")->required();
  ctl::VfSettingsArgs vf_settings;
  add_vf_settings_options(sriov_set, vf_settings);
  CLI::App* pool = sriov->add_subcommand("pool", "VFs handed to named guests");
  pool->require_subcommand(1);
  CLI::App* pool_list = pool->add_subcommand("list", "every VF with its state and guest");
  CLI::App* pool_allocate = pool->add_subcommand("allocate", "a VF for a guest");
  CLI::App* pool_release = pool->add_subcommand("release", "take a guest's VF back");
  CLI::App* pool_repair = pool->add_subcommand("repair", "undo what a crash left half-done");
  std::string guest;
  for (CLI::App* c : {pool_allocate, pool_release}) {
    c->add_option("GUEST", guest, "the guest's name")->required();
  }
  add_vf_settings_options(pool_allocate, vf_settings);
  std::string pool_driver = "vfio-pci";
  pool_allocate->add_option("--driver", pool_driver, "bind the VF to it (default vfio-pci)");

  if (std::optional<int> exit_status = parse_command_line(app, argc, argv)) return *exit_status;

  host.json = o.json;
  if (pci_list->parsed()) return ctl::pci_list(host, class_name);
  if (pci_show->parsed()) return ctl::pci_show(host, address);
  if (pci_bind->parsed()) return ctl::pci_bind(host, address, bind);
  if (pci_unbind->parsed()) return ctl::pci_unbind(host, address);
  if (sriov_list->parsed()) return ctl::sriov_list(host);
  if (sriov_create->parsed()) return ctl::sriov_create(host, address, vf_count, vf_driver);
  if (sriov_destroy->parsed()) return ctl::sriov_destroy(host, address, destroy_force);
  if (sriov_vfs->parsed()) return ctl::sriov_vfs(host, pf_name);
  if (sriov_set->parsed()) return ctl::sriov_set(host, pf_name, vf_index, vf_settings);
  if (pool_list->parsed()) return ctl::pool_list(host);
  if (pool_allocate->parsed()) {
    return ctl::pool_allocate(host, guest, vf_settings, pool_driver);
  }
  if (pool_release->parsed()) return ctl::pool_release(host, guest);
  if (pool_repair->parsed()) return ctl::pool_repair(host);
  if (std::optional<int> exit_status = daemon.run(endpoint(o, o.sock), o.json)) {
    return *exit_status;
  }
  if (o.api_sock.empty()) return fail("the vm commands need --api-sock", kExitUsage);
  const ctl::ApiEndpoint vmm = endpoint(o, o.api_sock);
  if (status->parsed()) return ctl::ask_and_print(vmm, o.json, "GET", "/vm", "", ctl::format_vm);
  if (nics->parsed()) {
    return ctl::ask_and_print(vmm, o.json, "GET", "/vm/nics", "", ctl::format_nics);
  }
  if (set_mode->parsed()) {
    for (char c : nic_name) {
      if (c <= ' ' || c >= 0x7f || c == '/' || c == '?' || c == '#') {
        return fail("NIC name '" + nic_name + "': printable ASCII without '/', '?' or '#'",
                    kExitUsage);
      }
    }
    return ctl::ask_and_print(vmm, o.json, "PUT", "/vm/nics/" + nic_name,
                              json{{"mode", mode}}.dump(), ctl::format_nic);
  }
  return fail("no command (see --help)", kExitUsage);
}

int main(int argc, char** argv) {
  return run_main(kProgram, run_ctl, argc, argv);
}
