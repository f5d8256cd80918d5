// XdpSteering: ringlane's own XDP program (uplink/bpf/steer.bpf.c, built into the binary as a
// libbpf skeleton) on one interface, with its maps. Attached through libxdp, whose dispatcher
// lets other XDP programs run on the same interface; where the dispatcher cannot be used (no
// bpffs mounted, a kernel without freplace) libxdp attaches it alone, and where libxdp fails
// altogether it is attached directly, and the start-up line says which. A copy left on the
// interface by a ringlane that died is found by its name and removed first; one that belongs to
// a ringlane still running is refused. The destructor detaches the program, and its maps go with
// it.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ringlane/base/result.h"
#include "ringlane/uplink/steer_abi.h"
#include "ringlane/uplink/steering_key.h"

struct ringlane_steer_bpf;
struct xdp_program;

namespace ringlane::uplink {

enum class XdpMode { automatic, native, generic };

struct SteeringSettings {
  std::string ifname;
  int ifindex = 0;
  XdpMode mode = XdpMode::automatic;
  uint64_t own_mac = 0;  // always the kernel's
  net::PortVlans vlans;
  bool steer_all = false;  // every unicast frame but own_mac's is ringlane's (cross-connect)
  uint32_t queues = 1;
};

class XdpSteering {
 public:
  // Loads and attaches the program, disabled (every frame to the kernel) until enable().
  // `notes` gets a line for anything worth telling the operator (a stale program removed, the
  // dispatcher not used and why).
  static Result<std::unique_ptr<XdpSteering>> attach(const SteeringSettings& settings,
                                                     std::vector<std::string>& notes);
  // The program loaded and configured like attach()'s, but on no interface (tests,
  // diagnostics): run() feeds it frames.
  static Result<std::unique_ptr<XdpSteering>> load_unattached(const SteeringSettings& settings);
  ~XdpSteering();
  XdpSteering(const XdpSteering&) = delete;
  XdpSteering& operator=(const XdpSteering&) = delete;

  int xsk_map_fd() const;
  int copy_ring_fd() const;
  // The program starts steering (the sockets are in the XSKMAP).
  Status enable();
  // Steers frames to `key`'s address to ringlane, or stops doing so.
  Status add_address(const rl_steer_key& key);
  Status remove_address(const rl_steer_key& key);
  // The program's counters (steer_abi.h's rl_stat), summed over CPUs.
  std::array<uint64_t, RL_STAT_COUNT> statistics() const;
  // Runs the program once on `frame` (BPF_PROG_TEST_RUN) and returns its verdict (XDP_PASS, ...).
  Result<int> run(std::span<const uint8_t> frame);

  bool native() const { return native_; }
  // "native mode, in libxdp's dispatcher" and the like, for the start-up line.
  std::string description() const;
  uint32_t program_id() const { return program_id_; }

 private:
  XdpSteering() = default;
  Status attach_with_libxdp(const SteeringSettings& settings, std::vector<std::string>& notes,
                            std::string& why_not);
  Status attach_directly(const SteeringSettings& settings);
  Status write_config(const SteeringSettings& settings, bool enabled);

  ringlane_steer_bpf* skel_ = nullptr;
  xdp_program* program_ = nullptr;  // null when attached directly
  int ifindex_ = 0;
  bool native_ = false;
  bool dispatcher_ = false;
  bool attached_ = false;
  uint32_t program_id_ = 0;
  SteeringSettings settings_;
};

// Removes a ringlane program left on `ifindex` by a ringlane process that is gone; refuses one
// that a running ringlane (this one included) still uses. Adds a note for each one removed.
Status remove_stale_program(int ifindex, const std::string& ifname,
                            std::vector<std::string>& notes);

}  // namespace ringlane::uplink
