#include "ringlane/uplink/xdp_steering.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <xdp/libxdp.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>

#include "ringlane/base/log.h"
#include "ringlane/base/unique_fd.h"
// Generated at build time by `bpftool gen skeleton` from uplink/bpf/steer.bpf.c.
#include <steer.skel.h>

namespace ringlane::uplink {

namespace {

// libxdp's last word on why it did not use its dispatcher (the control thread's, the only one
// attaching programs). Kept: libxdp checks the kernel once and then falls back in silence.
std::string& dispatcher_failure() {
  static std::string text;
  return text;
}

// libbpf's and libxdp's own messages (the verifier's log, the dispatcher's fall-back) go to
// ringlane's log at debug level: ringlane says in its own words what happened.
std::string format_library_line(const char* format, va_list args) {
  char line[1024];
  vsnprintf(line, sizeof(line), format, args);
  size_t n = strnlen(line, sizeof(line));
  while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == ' ')) line[--n] = '\0';
  return std::string(line, n);
}
int forward_libbpf(libbpf_print_level /*level*/, const char* format, va_list args) {
  std::string line = format_library_line(format, args);
  if (!line.empty()) RL_LOG(debug, line);
  return 0;
}
int forward_libxdp(libxdp_print_level /*level*/, const char* format, va_list args) {
  std::string line = format_library_line(format, args);
  if (line.find("ompatibility check for dispatcher") != std::string::npos ||
      line.find("Can't use dispatcher") != std::string::npos ||
      line.find("Failed to load dispatcher") != std::string::npos) {
    constexpr std::string_view kPrefix = "libxdp: ";
    dispatcher_failure() = line.starts_with(kPrefix) ? line.substr(kPrefix.size()) : line;
  }
  if (!line.empty()) RL_LOG(debug, line);
  return 0;
}

void route_library_logs() {
  static std::once_flag once;
  std::call_once(once, [] {
    libbpf_set_print(forward_libbpf);
    libxdp_set_print(forward_libxdp);
  });
}

std::string program_name(uint32_t id) {
  UniqueFd fd(bpf_prog_get_fd_by_id(id));
  if (!fd) return {};
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) return {};
  return std::string(info.name, strnlen(info.name, sizeof(info.name)));
}

// The process that loaded ringlane program `prog_id`, from its configuration map; 0 when that
// cannot be read.
uint32_t owner_of(uint32_t prog_id) {
  UniqueFd fd(bpf_prog_get_fd_by_id(prog_id));
  if (!fd) return 0;
  uint32_t map_ids[16] = {};
  bpf_prog_info info{};
  info.nr_map_ids = 16;
  info.map_ids = reinterpret_cast<uint64_t>(map_ids);
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) return 0;
  for (uint32_t i = 0; i < info.nr_map_ids && i < 16; ++i) {
    UniqueFd map(bpf_map_get_fd_by_id(map_ids[i]));
    if (!map) continue;
    bpf_map_info minfo{};
    uint32_t mlen = sizeof(minfo);
    if (bpf_obj_get_info_by_fd(map.get(), &minfo, &mlen) != 0) continue;
    if (std::strncmp(minfo.name, RL_CONFIG_MAP_NAME, sizeof(minfo.name)) != 0) continue;
    uint32_t key = 0;
    rl_config config{};
    if (bpf_map_lookup_elem(map.get(), &key, &config) == 0) return config.owner_pid;
  }
  return 0;
}

// Whether `pid` is a ringlane process now (a program it loaded is then in use, not stale).
bool ringlane_running(uint32_t pid) {
  if (pid == 0) return false;
  if (pid == static_cast<uint32_t>(getpid())) return true;
  std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  return std::getline(comm, name) && name == "ringlane";
}

Status refuse_if_in_use(uint32_t prog_id, const std::string& ifname, uint32_t& owner) {
  owner = owner_of(prog_id);
  if (owner == static_cast<uint32_t>(getpid())) {
    return Error(EBUSY, "interface '" + ifname + "' is already an uplink of this ringlane");
  }
  if (ringlane_running(owner)) {
    return Error(EBUSY, "interface '" + ifname + "' is in use by another ringlane (pid " +
                            std::to_string(owner) + ")");
  }
  return {};
}

std::string stale_note(uint32_t id, uint32_t owner, const std::string& ifname, const char* how) {
  return "removed a stale ringlane XDP program (id " + std::to_string(id) +
         (owner != 0 ? ", loaded by pid " + std::to_string(owner) + ", which is gone" : "") +
         ") from " + ifname + " (" + how + ")";
}

bool bpffs_mounted() {
  const char* dir = std::getenv("LIBXDP_BPFFS");
  struct statfs st {};
  return statfs(dir != nullptr ? dir : "/sys/fs/bpf", &st) == 0 &&
         static_cast<unsigned long>(st.f_type) == BPF_FS_MAGIC;
}

xdp_attach_mode libxdp_mode(bool native) {
  return native ? XDP_MODE_NATIVE : XDP_MODE_SKB;
}

uint32_t netlink_mode(bool native) {
  return native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
}

// The refusal when another XDP program holds the interface in a way libxdp cannot share.
Error occupied(const std::string& ifname, int ifindex, int code) {
  LIBBPF_OPTS(bpf_xdp_query_opts, query);
  std::string holder = "an XDP program";
  if (bpf_xdp_query(ifindex, 0, &query) == 0) {
    for (uint32_t id : {query.drv_prog_id, query.skb_prog_id}) {
      if (id == 0) continue;
      holder = "XDP program '" + program_name(id) + "' (id " + std::to_string(id) + ", " +
               (id == query.drv_prog_id ? "native" : "generic") + " mode)";
      break;
    }
  }
  return Error(code, "interface '" + ifname + "' already has " + holder +
                         ", which ringlane cannot share: detach it (ip link set dev " + ifname +
                         " xdp off), or load it through libxdp's dispatcher");
}

}  // namespace

Status remove_stale_program(int ifindex, const std::string& ifname,
                            std::vector<std::string>& notes) {
  route_library_logs();
  LIBBPF_OPTS(bpf_xdp_query_opts, query);
  if (bpf_xdp_query(ifindex, 0, &query) != 0) return {};  // nothing the kernel will tell
  struct Slot {
    uint32_t id;
    bool native;
  };
  for (Slot slot : {Slot{query.drv_prog_id, true}, Slot{query.skb_prog_id, false}}) {
    if (slot.id == 0) continue;
    std::string name = program_name(slot.id);
    if (name == RL_STEER_PROG_NAME) {
      uint32_t owner = 0;
      RINGLANE_TRY(refuse_if_in_use(slot.id, ifname, owner));
      UniqueFd old(bpf_prog_get_fd_by_id(slot.id));
      LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = old.get());
      if (int rc = bpf_xdp_detach(ifindex, netlink_mode(slot.native), &opts); rc != 0) {
        return Error(-rc, "cannot remove the stale ringlane XDP program (id " +
                              std::to_string(slot.id) + ") from " + ifname);
      }
      notes.push_back(stale_note(slot.id, owner, ifname, slot.native ? "native" : "generic"));
      continue;
    }
    if (name != "xdp_dispatcher") continue;  // another program: attaching will say
    // libxdp's dispatcher: look for ringlane among the programs it runs.
    xdp_multiprog* mp = xdp_multiprog__get_from_ifindex(ifindex);
    if (mp == nullptr || libxdp_get_error(mp) != 0) {
      notes.push_back("libxdp's dispatcher on " + ifname +
                      " cannot be inspected here (its state lives in a bpffs not mounted here)");
      continue;
    }
    std::vector<std::pair<uint32_t, uint32_t>> stale;  // id, owner
    Status in_use = Status();
    for (xdp_program* p = xdp_multiprog__next_prog(nullptr, mp); p != nullptr;
         p = xdp_multiprog__next_prog(p, mp)) {
      const char* pname = xdp_program__name(p);
      if (pname == nullptr || std::strcmp(pname, RL_STEER_PROG_NAME) != 0) continue;
      uint32_t owner = 0;
      if (Status s = refuse_if_in_use(xdp_program__id(p), ifname, owner); !s.ok()) {
        in_use = s;
        break;
      }
      stale.emplace_back(xdp_program__id(p), owner);
    }
    xdp_attach_mode mode = xdp_multiprog__attach_mode(mp);
    xdp_multiprog__close(mp);
    if (!in_use.ok()) return in_use.error();
    for (auto [id, owner] : stale) {
      xdp_program* p = xdp_program__from_id(id);
      if (p == nullptr || libxdp_get_error(p) != 0) continue;  // gone meanwhile
      int rc = xdp_program__detach(p, ifindex, mode, 0);
      xdp_program__close(p);
      if (rc != 0) {
        return Error(-rc, "cannot remove the stale ringlane XDP program (id " + std::to_string(id) +
                              ") from libxdp's dispatcher on " + ifname);
      }
      notes.push_back(stale_note(id, owner, ifname, "in libxdp's dispatcher"));
    }
  }
  return {};
}

Result<std::unique_ptr<XdpSteering>> XdpSteering::attach(const SteeringSettings& settings,
                                                         std::vector<std::string>& notes) {
  route_library_logs();
  if (settings.queues == 0 || settings.queues > RL_MAX_QUEUES) {
    return Error(EINVAL, "queues must be 1-" + std::to_string(RL_MAX_QUEUES));
  }
  RINGLANE_TRY(remove_stale_program(settings.ifindex, settings.ifname, notes));
  std::unique_ptr<XdpSteering> s(new XdpSteering());
  s->settings_ = settings;
  s->ifindex_ = settings.ifindex;
  std::string why_not;
  Status through_libxdp = s->attach_with_libxdp(settings, notes, why_not);
  if (!through_libxdp.ok()) {
    // Another program on the interface, or a mode it refuses: the operator's to change, not
    // ours to work around.
    int code = through_libxdp.error().code();
    if (code == EEXIST || code == EBUSY ||
        (code == EOPNOTSUPP && settings.mode != XdpMode::automatic)) {
      return through_libxdp.error();
    }
    Status direct = s->attach_directly(settings);
    if (!direct.ok()) {
      return Error(through_libxdp.error().code(), through_libxdp.error().message() +
                                                      " (attaching it without libxdp failed too: " +
                                                      direct.error().to_string() + ")");
    }
    notes.push_back("libxdp could not attach ringlane's XDP program (" +
                    through_libxdp.error().to_string() + "); attached directly to " +
                    settings.ifname + ", so no other XDP program can share it");
  } else if (!s->dispatcher_) {
    notes.push_back("ringlane's XDP program runs alone on " + settings.ifname +
                    ", not in libxdp's dispatcher (" + why_not +
                    "), so no other XDP program can share the interface");
  }
  RINGLANE_TRY(s->write_config(settings, false));
  return s;
}

Result<std::unique_ptr<XdpSteering>> XdpSteering::load_unattached(
    const SteeringSettings& settings) {
  route_library_logs();
  std::unique_ptr<XdpSteering> s(new XdpSteering());
  s->settings_ = settings;
  s->skel_ = ringlane_steer_bpf__open_and_load();
  if (s->skel_ == nullptr) return errno_error("loading ringlane's XDP program");
  RINGLANE_TRY(s->write_config(settings, false));
  return s;
}

Result<int> XdpSteering::run(std::span<const uint8_t> frame) {
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(),
              .data_size_in = static_cast<uint32_t>(frame.size()), .repeat = 1);
  if (bpf_prog_test_run_opts(bpf_program__fd(skel_->progs.ringlane_steer), &opts) != 0) {
    return errno_error("running ringlane's XDP program");
  }
  return static_cast<int>(opts.retval);
}

Status XdpSteering::attach_with_libxdp(const SteeringSettings& settings,
                                       std::vector<std::string>& /*notes*/, std::string& why_not) {
  std::vector<bool> modes;  // native?
  if (settings.mode != XdpMode::generic) modes.push_back(true);
  if (settings.mode != XdpMode::native) modes.push_back(false);
  int rc = 0;
  for (bool native : modes) {
    // A fresh object each time: a failed attach may leave it loaded for the other mode.
    skel_ = ringlane_steer_bpf__open();
    if (skel_ == nullptr) return errno_error("opening ringlane's XDP program");
    program_ = xdp_program__from_bpf_obj(skel_->obj, "xdp");
    if (long err = libxdp_get_error(program_); err != 0 || program_ == nullptr) {
      program_ = nullptr;
      ringlane_steer_bpf__destroy(skel_);
      skel_ = nullptr;
      return Error(static_cast<int>(-err), "libxdp refused ringlane's XDP program");
    }
    rc = xdp_program__attach(program_, ifindex_, libxdp_mode(native), 0);
    if (rc == 0) {
      native_ = native;
      break;
    }
    xdp_program__close(program_);
    program_ = nullptr;
    ringlane_steer_bpf__destroy(skel_);
    skel_ = nullptr;
  }
  if (rc != 0) {
    int e = -rc;
    if (e == EOPNOTSUPP && settings.mode == XdpMode::native) {
      return Error(e, "native XDP is not available on " + settings.ifname +
                          " (its driver does not offer it); use xdp=auto or xdp=generic");
    }
    if (e == EEXIST || e == EBUSY) return occupied(settings.ifname, ifindex_, e);
    return Error(e, "cannot attach ringlane's XDP program to " + settings.ifname);
  }
  program_id_ = xdp_program__id(program_);
  xdp_multiprog* mp = xdp_multiprog__get_from_ifindex(ifindex_);
  dispatcher_ = mp != nullptr && libxdp_get_error(mp) == 0 && !xdp_multiprog__is_legacy(mp);
  if (mp != nullptr && libxdp_get_error(mp) == 0) xdp_multiprog__close(mp);
  if (!dispatcher_) {
    if (!bpffs_mounted()) {
      why_not =
          "no bpffs is mounted at /sys/fs/bpf, where libxdp keeps its state: mount -t bpf bpf "
          "/sys/fs/bpf";
    } else if (!dispatcher_failure().empty()) {
      why_not = "libxdp: " + dispatcher_failure();
    } else {
      why_not = "libxdp did not say why; --log-level debug shows its messages";
    }
  }
  return {};
}

Status XdpSteering::attach_directly(const SteeringSettings& settings) {
  skel_ = ringlane_steer_bpf__open_and_load();
  if (skel_ == nullptr) return errno_error("loading ringlane's XDP program");
  int fd = bpf_program__fd(skel_->progs.ringlane_steer);
  int rc = 0;
  for (bool native : {true, false}) {
    if (native && settings.mode == XdpMode::generic) continue;
    if (!native && settings.mode == XdpMode::native) continue;
    rc = bpf_xdp_attach(ifindex_, fd, XDP_FLAGS_UPDATE_IF_NOEXIST | netlink_mode(native), nullptr);
    if (rc == 0) {
      native_ = native;
      attached_ = true;
      break;
    }
  }
  if (rc != 0) {
    ringlane_steer_bpf__destroy(skel_);
    skel_ = nullptr;
    return Error(-rc, "bpf_xdp_attach");
  }
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) program_id_ = info.id;
  return {};
}

XdpSteering::~XdpSteering() {
  if (program_ != nullptr) {
    if (int rc = xdp_program__detach(program_, ifindex_, libxdp_mode(native_), 0); rc != 0) {
      log_line(LogLevel::warn, "cannot detach ringlane's XDP program from " + settings_.ifname +
                                   ": " + std::strerror(-rc));
    }
    xdp_program__close(program_);
  } else if (skel_ != nullptr && attached_) {
    LIBBPF_OPTS(bpf_xdp_attach_opts, opts,
                .old_prog_fd = bpf_program__fd(skel_->progs.ringlane_steer));
    if (int rc = bpf_xdp_detach(ifindex_, netlink_mode(native_), &opts); rc != 0) {
      log_line(LogLevel::warn, "cannot detach ringlane's XDP program from " + settings_.ifname +
                                   ": " + std::strerror(-rc));
    }
  }
  if (skel_ != nullptr) ringlane_steer_bpf__destroy(skel_);
}

int XdpSteering::xsk_map_fd() const {
  return bpf_map__fd(skel_->maps.rl_xsks);
}

int XdpSteering::copy_ring_fd() const {
  return bpf_map__fd(skel_->maps.rl_copies);
}

Status XdpSteering::write_config(const SteeringSettings& settings, bool enabled) {
  rl_config config{};
  config.enabled = enabled ? 1 : 0;
  config.owner_pid = static_cast<uint32_t>(getpid());
  for (int i = 0; i < 6; ++i) {
    config.own_mac[i] = static_cast<uint8_t>(settings.own_mac >> (40 - 8 * i));
  }
  config.vlan_mode = vlan_mode_of(settings.vlans);
  config.steer_all = settings.steer_all ? 1 : 0;
  config.queues = settings.queues;
  fill_trunk_bitmap(settings.vlans, config.trunk);
  uint32_t key = 0;
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.rl_config), &key, &config, BPF_ANY) != 0) {
    return errno_error("configuring ringlane's XDP program");
  }
  return {};
}

Status XdpSteering::enable() {
  return write_config(settings_, true);
}

Status XdpSteering::add_address(const rl_steer_key& key) {
  uint32_t value = 1;
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.rl_steer), &key, &value, BPF_ANY) != 0) {
    return errno_error("steering an address to ringlane");
  }
  return {};
}

Status XdpSteering::remove_address(const rl_steer_key& key) {
  if (bpf_map_delete_elem(bpf_map__fd(skel_->maps.rl_steer), &key) != 0 && errno != ENOENT) {
    return errno_error("no longer steering an address to ringlane");
  }
  return {};
}

std::array<uint64_t, RL_STAT_COUNT> XdpSteering::statistics() const {
  std::array<uint64_t, RL_STAT_COUNT> out{};
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return out;
  std::vector<uint64_t> per_cpu(static_cast<size_t>(cpus));
  int fd = bpf_map__fd(skel_->maps.rl_stats);
  for (uint32_t slot = 0; slot < RL_STAT_COUNT; ++slot) {
    if (bpf_map_lookup_elem(fd, &slot, per_cpu.data()) != 0) continue;
    for (uint64_t v : per_cpu) out[slot] += v;
  }
  return out;
}

std::string XdpSteering::description() const {
  std::string text = native_ ? "native mode" : "generic mode";
  if (program_ == nullptr) return text + ", attached directly";
  return text + (dispatcher_ ? ", in libxdp's dispatcher" : ", attached alone by libxdp");
}

}  // namespace ringlane::uplink
