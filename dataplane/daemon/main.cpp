// ringlane: the polling data-plane daemon.
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/signalfd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>

#include "engine_control.h"
#include "ringlane/base/cpu_affinity.h"
#include "ringlane/base/event_loop.h"
#include "ringlane/base/log.h"
#include "ringlane/base/program.h"
#include "ringlane/blk/disk_image.h"
#include "ringlane/control/daemon_api.h"
#include "ringlane/control/daemon_config.h"
#include "ringlane/control/idle_policy.h"
#include "ringlane/dataplane/dpdk_port.h"
#include "ringlane/dataplane/engine.h"
#include "ringlane/dataplane/port_factory.h"
#include "ringlane/dataplane/vhost_net_port.h"
#include "ringlane/http/http_server.h"
#include "stats_report.h"

using namespace ringlane;

namespace {

constexpr const char* kProgram = "ringlane";

// Most failures are usage errors: a bad command line or configuration, found before anything runs.
// What fails once a good configuration is set going passes kExitFailure.
int fail(const std::string& message, int status = kExitUsage) {
  return report_failure(kProgram, message, status);
}

Result<LogLevel> parse_log_level(const std::string& s) {
  if (s == "debug") return LogLevel::debug;
  if (s == "info") return LogLevel::info;
  if (s == "warn") return LogLevel::warn;
  if (s == "error") return LogLevel::error;
  return Error(EINVAL, "log level must be debug, info, warn or error");
}

http::HttpAnswer to_http(control::ApiReply reply) {
  return {reply.status, std::move(reply.body), std::move(reply.content_type)};
}

// "0660" and "USER[:GROUP]" (names or numbers) as the API socket's access.
Result<http::UnixSocketAccess> socket_access(const std::string& mode, const std::string& owner) {
  http::UnixSocketAccess access;
  char* end = nullptr;
  unsigned long bits = std::strtoul(mode.c_str(), &end, 8);
  if (mode.empty() || *end != '\0' || bits > 07777) {
    return Error(EINVAL, "--api-sock-mode '" + mode + "': expected an octal file mode, e.g. 0660");
  }
  access.mode = static_cast<mode_t>(bits);
  if (owner.empty()) return access;
  auto colon = owner.find(':');
  std::string user = owner.substr(0, colon);
  std::string group = colon == std::string::npos ? "" : owner.substr(colon + 1);
  auto number = [](const std::string& s) -> std::optional<unsigned> {
    if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    return static_cast<unsigned>(std::stoul(s));
  };
  if (!user.empty()) {
    if (auto n = number(user)) {
      access.owner = *n;
    } else if (const struct passwd* pw = ::getpwnam(user.c_str())) {
      access.owner = pw->pw_uid;
    } else {
      return Error(EINVAL, "--api-sock-owner: no user '" + user + "'");
    }
  }
  if (!group.empty()) {
    if (auto n = number(group)) {
      access.group = *n;
    } else if (const struct group* gr = ::getgrnam(group.c_str())) {
      access.group = gr->gr_gid;
    } else {
      return Error(EINVAL, "--api-sock-owner: no group '" + group + "'");
    }
  }
  return access;
}

}  // namespace

int run_daemon(int argc, char** argv) {
  CLI::App app{
      "ringlane: a polling vhost-user data plane. Serves virtio-net and virtio-blk to VMs over\n"
      "vhost-user sockets on dedicated cores: switches frames between the net ports\n"
      "(cross-connect or L2 with VLANs), VMs' and uplinks' (AF_XDP, DPDK, TAP) alike, and\n"
      "serves the disks from image files through io_uring."};
  app.footer(
      "Examples:\n"
      "  ringlane --cores 1 --port name=vm0,path=/tmp/vm0.sock --port name=vm1,path=/tmp/vm1.sock\n"
      "  ringlane --disk name=d0,path=/tmp/d0.sock,file=/var/lib/vm0.img --port "
      "name=vm0,path=/tmp/vm0.sock\n"
      "  ringlane --mode l2 --port name=vm0,path=/tmp/vm0.sock,vlan=10 --port "
      "name=up,kind=afxdp,ifname=eth1,trunk=10+20\n"
      "  ringlane --config ringlane.toml --stats-interval 1\n"
      "Two ports in xconnect mode with no --xconnect are connected to each other.\n"
      "On SIGINT/SIGTERM (or after --duration) a JSON summary is written to --summary (default "
      "stdout).\n"
      "SIGUSR1 makes ringlane read every disk image's size again: a disk whose image grew or "
      "shrank takes the new capacity and its guest is told.\n"
      "Exit status: 0 after a clean stop, 1 a runtime failure (with the configuration accepted: "
      "the event loop, the signal watch or the summary file failed), 2 a usage error (a bad "
      "command line or configuration, including a socket path that cannot be listened on, a "
      "disk image that is missing, unreadable, unwritable or not whole sectors, and an uplink that "
      "cannot start: an interface missing or down, no permission, no AF_XDP, devargs DPDK "
      "refuses).");
  control::DaemonConfig cfg;
  std::string config_path;
  std::vector<std::string> port_specs, disk_specs, xconnects;
  app.add_option("-c,--config", config_path, "TOML configuration file")->check(CLI::ExistingFile);
  auto* cores_opt =
      app.add_option("--cores", cfg.cores, "worker cores, e.g. 1 or 2-3 or 1,3 (default 1)");
  auto* control_cores_opt = app.add_option(
      "--control-cores", cfg.control_cores,
      "cores for the control thread (vhost-user messages, connections, statistics), same syntax "
      "(default: every core ringlane may use apart from the workers', or the workers' own when "
      "there is no other)");
  auto* mode_opt =
      app.add_option("--mode", cfg.mode, "forwarding: xconnect or l2 (default xconnect)");
  app.add_option("--port", port_specs,
                 "a switch port, name=N[,kind=K] and the kind's keys; any kind may add "
                 "vlan=ID (access) or trunk=ID+ID+... (802.1Q):\n"
                 "  kind=vhost (default): a VM over vhost-user-net, path=SOCK"
                 "[,mode=server|client][,queues=Q][,disable=FEAT+FEAT]\n"
                 "  kind=afxdp: a host interface through AF_XDP, ifname=IF[,queues=Q]"
                 "[,xdp=auto|native|generic][,zerocopy=auto|on|off]; ringlane's XDP program "
                 "passes the host's own traffic to the kernel\n"
                 "  kind=dpdk: a DPDK ethdev, devargs=\"DEVARGS\"[,queues=Q] (quotes when DEVARGS "
                 "holds commas, e.g. devargs=\"net_af_packet0,iface=eth1\")\n"
                 "  kind=tap: a TAP interface (the host's stack as a port), ifname=NAME");
  app.add_option("--disk", disk_specs,
                 "vhost-user-blk disk: name=N,path=SOCK,file=IMAGE[,mode=server|client]"
                 "[,readonly][,queues=Q][,direct=on|off][,discard=on|off] (IMAGE: a regular file "
                 "or a block device; direct: O_DIRECT, default where the image allows it)");
  app.add_option("--xconnect", xconnects, "cross-connect two ports: A:B");
  // Ranges are checked with the configuration file's values (control::validate), which also
  // refuses "nan" and "inf", in words an operator reads.
  auto* stats_opt = app.add_option("--stats-interval", cfg.stats_interval,
                                   "seconds between statistics lines (0 = none)");
  auto* duration_opt = app.add_option("--duration", cfg.duration,
                                      "stop after this many seconds (0 = run until signalled)");
  auto* summary_opt =
      app.add_option("--summary", cfg.summary_path, "write the JSON summary here (- = stdout)");
  auto* aging_opt =
      app.add_option("--mac-aging", cfg.mac_aging, "L2 MAC aging time in seconds (more than 0)");
  std::string idle_text;
  auto* idle_opt = app.add_option(
      "--idle", idle_text,
      "what a worker does when its queues are empty: poll (the default: lowest latency, a whole "
      "core) or sleep[:MICROSECONDS] (after that long without work, default 100, it sleeps on "
      "its queues' kicks and wakes at the first one; a worker polling a dpdk or afxdp port "
      "never sleeps, one with disk I/O in flight waits for it at most 200 us)");
  auto* idle_us_opt = app.add_option("--idle-sleep-us", cfg.idle_sleep_us,
                                     "the older spelling of --idle sleep:N (0: poll)");
  idle_opt->excludes(idle_us_opt);
  auto* api_sock_opt = app.add_option(
      "--api-sock", cfg.api_sock,
      "serve the control API (HTTP/1.1 + JSON: ports, workers, queues, fdb, metrics; see "
      "ringlane-ctl) on this Unix socket");
  auto* api_mode_opt = app.add_option("--api-sock-mode", cfg.api_sock_mode,
                                      "the API socket's file mode, octal (default 0600: only its "
                                      "owner, root, may connect)");
  auto* api_owner_opt = app.add_option(
      "--api-sock-owner", cfg.api_sock_owner,
      "give the API socket to USER[:GROUP] (names or numbers), e.g. root:ringlane with "
      "--api-sock-mode 0660");
  auto* metrics_opt = app.add_option(
      "--metrics", cfg.metrics,
      "serve GET /metrics (Prometheus text format) over HTTP on ADDR:PORT, e.g. 127.0.0.1:9470 "
      "or :9470 (every address)");
  auto* rebalance_opt =
      app.add_option("--rebalance-interval", cfg.rebalance_interval,
                     "every this many seconds, spread the queues over the workers by the cycles "
                     "each cost (as POST /workers/rebalance does); 0, the default: only when asked")
          ->check(CLI::Range(0.0, 86400.0));
  auto* log_opt = app.add_option("--log-level", cfg.log_level, "debug, info, warn or error");
  auto* dpdk_no_huge_opt =
      app.add_flag("--dpdk-no-huge", cfg.dpdk.no_huge,
                   "DPDK ports use anonymous memory instead of hugepages (EAL --no-huge)");
  auto* dpdk_prefix_opt =
      app.add_option("--dpdk-file-prefix", cfg.dpdk.file_prefix,
                     "DPDK's runtime file prefix, apart from other DPDK processes (default "
                     "ringlane)");
  auto* dpdk_memory_opt = app.add_option("--dpdk-memory", cfg.dpdk.memory_mb,
                                         "MiB of memory DPDK's EAL reserves (default 256)");
  if (std::optional<int> exit_status = parse_command_line(app, argc, argv)) return *exit_status;

  if (!config_path.empty()) {
    std::ifstream in(config_path);
    std::stringstream text;
    text << in.rdbuf();
    control::DaemonConfig from_file;
    if (Status s = control::apply_toml(text.str(), config_path, from_file); !s.ok()) {
      return fail(s.error().message());
    }
    // Flags given on the command line override the file.
    if (!cores_opt->count()) cfg.cores = from_file.cores;
    if (!control_cores_opt->count()) cfg.control_cores = from_file.control_cores;
    if (!mode_opt->count()) cfg.mode = from_file.mode;
    if (!stats_opt->count()) cfg.stats_interval = from_file.stats_interval;
    if (!duration_opt->count()) cfg.duration = from_file.duration;
    if (!summary_opt->count()) cfg.summary_path = from_file.summary_path;
    if (!aging_opt->count()) cfg.mac_aging = from_file.mac_aging;
    if (!idle_opt->count() && !idle_us_opt->count()) cfg.idle_sleep_us = from_file.idle_sleep_us;
    if (!log_opt->count()) cfg.log_level = from_file.log_level;
    if (!api_sock_opt->count()) cfg.api_sock = from_file.api_sock;
    if (!api_mode_opt->count()) cfg.api_sock_mode = from_file.api_sock_mode;
    if (!api_owner_opt->count()) cfg.api_sock_owner = from_file.api_sock_owner;
    if (!metrics_opt->count()) cfg.metrics = from_file.metrics;
    if (!rebalance_opt->count()) cfg.rebalance_interval = from_file.rebalance_interval;
    if (!dpdk_no_huge_opt->count()) cfg.dpdk.no_huge = from_file.dpdk.no_huge;
    if (!dpdk_prefix_opt->count()) cfg.dpdk.file_prefix = from_file.dpdk.file_prefix;
    if (!dpdk_memory_opt->count()) cfg.dpdk.memory_mb = from_file.dpdk.memory_mb;
    cfg.ports = from_file.ports;
    cfg.disks = from_file.disks;
    cfg.cross_connects = from_file.cross_connects;
  }
  for (const auto& spec : port_specs) {
    auto port = control::parse_port_spec(spec);
    if (!port) return fail(port.error().message());
    cfg.ports.push_back(*port);
  }
  for (const auto& spec : disk_specs) {
    auto disk = control::parse_disk_spec(spec);
    if (!disk) return fail(disk.error().message());
    cfg.disks.push_back(*disk);
  }
  for (const auto& x : xconnects) {
    auto colon = x.find(':');
    if (colon == std::string::npos) return fail("--xconnect '" + x + "': expected A:B");
    cfg.cross_connects.emplace_back(x.substr(0, colon), x.substr(colon + 1));
  }
  if (cfg.mode == "xconnect" && cfg.cross_connects.empty() && cfg.ports.size() == 2) {
    cfg.cross_connects.emplace_back(cfg.ports[0].name, cfg.ports[1].name);
  }
  if (idle_opt->count()) {
    auto idle = control::parse_idle_policy(idle_text);
    if (!idle) return fail(idle.error().message());
    cfg.idle_sleep_us = idle->sleep_after_us;
  }
  if (Status s = control::validate(cfg); !s.ok()) return fail(s.error().message());
  // With the API, ports may all come later (a VMM asks for its NIC's).
  if (cfg.ports.empty() && cfg.disks.empty() && cfg.api_sock.empty()) {
    return fail(
        "no ports or disks configured (use --port, --disk, --api-sock or a config file; see "
        "--help)");
  }
  // Every image is opened and checked before anything starts.
  std::vector<blk::DiskImage> images;
  for (const auto& d : cfg.disks) {
    auto image = blk::DiskImage::open({d.image_path, d.readonly, d.direct});
    if (!image) return fail("disk '" + d.name + "': " + image.error().message());
    images.push_back(std::move(*image));
  }
  auto level = parse_log_level(cfg.log_level);
  if (!level) return fail(level.error().message());
  set_log_level(*level);
  auto online_cores = [](const std::string& flag,
                         const std::string& text) -> Result<std::vector<int>> {
    auto cores = parse_core_list(text);
    if (!cores) return Error(EINVAL, flag + ": " + cores.error().message());
    for (int c : *cores) {
      if (c >= online_core_count()) {
        return Error(EINVAL, flag + ": core " + std::to_string(c) +
                                 " is not online (this machine has " +
                                 std::to_string(online_core_count()) + ")");
      }
    }
    return cores;
  };
  auto cores = online_cores("--cores", cfg.cores);
  if (!cores) return fail(cores.error().message());
  // The control thread handles every frontend's messages: off the worker cores, a flood of
  // them costs a worker nothing. Workers pin themselves, from whatever mask they inherit.
  std::vector<int> control_cores;
  if (!cfg.control_cores.empty()) {
    auto chosen = online_cores("--control-cores", cfg.control_cores);
    if (!chosen) return fail(chosen.error().message());
    control_cores = *chosen;
  } else if (auto allowed = allowed_cores(); allowed.ok()) {
    control_cores = cores_except(*allowed, *cores);
  }
  std::string control_text;
  if (control_cores.empty()) {
    control_text = "shares the worker cores (no other core is allowed)";
  } else if (Status s = pin_current_thread(control_cores); !s.ok()) {
    return fail("--control-cores: " + s.error().to_string());
  } else {
    control_text = "on core(s) " + format_core_list(control_cores);
  }

  // Signals arrive through a signalfd on the control thread; workers inherit the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);  // disk images resized: re-read their sizes
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  UniqueFd sigfd(signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC));

  auto loop = EventLoop::create();
  if (!loop) return fail(loop.error().to_string(), kExitFailure);
  dataplane::EngineConfig engine_config;
  engine_config.cores = *cores;
  engine_config.mode = cfg.mode == "l2" ? dataplane::ForwardingMode::l2_switch
                                        : dataplane::ForwardingMode::cross_connect;
  engine_config.mac_aging_seconds = cfg.mac_aging;
  engine_config.idle_sleep_us = cfg.idle_sleep_us;
  engine_config.disks_at_runtime = !cfg.api_sock.empty();
  engine_config.worker_init = dataplane::dpdk_worker_init(cfg.ports);  // DPDK lcores
  dataplane::Engine engine(engine_config);

  dataplane::PortContext port_context;
  port_context.grace = &engine.grace();
  port_context.loop = loop->get();
  port_context.dpdk = cfg.dpdk;
  port_context.worker_cores = *cores;
  port_context.learns_addresses = engine_config.mode == dataplane::ForwardingMode::l2_switch;
  dataplane::EngineControl control(engine, port_context, cfg,
                                   control::to_string(control::IdlePolicy{cfg.idle_sleep_us}));
  // The API's sockets before any port's: a daemon that cannot serve what it was told to serve
  // stops before it has taken any vhost-user socket. Requests wait for the loop to run.
  control::DaemonApi api(control);
  auto handle = [&api](const http::HttpRequest& r) {
    return to_http(api.handle(r.method, r.target, r.body));
  };
  auto refuse = [&api](int status, std::string_view message) {
    return to_http(api.refuse(status, message));
  };
  std::unique_ptr<http::HttpServer> api_server, metrics_server;
  if (!cfg.api_sock.empty()) {
    auto access = socket_access(cfg.api_sock_mode, cfg.api_sock_owner);
    if (!access) return fail(access.error().message());
    auto server = http::HttpServer::listen_unix(**loop, cfg.api_sock, *access, handle, refuse);
    if (!server) return fail("--api-sock " + cfg.api_sock + ": " + server.error().to_string());
    api_server = std::move(*server);
    log_line(LogLevel::info, "control API on " + cfg.api_sock);
  }
  if (!cfg.metrics.empty()) {
    // Only the metrics: the API changes the switch, and a TCP port has no file mode to guard it.
    auto metrics_only = [&](const http::HttpRequest& r) {
      if (http::split_target(r.target).path != "/metrics") {
        return to_http(api.refuse(404, "only /metrics is served here"));
      }
      return handle(r);
    };
    auto server = http::HttpServer::listen_tcp(**loop, cfg.metrics, metrics_only, refuse);
    if (!server) return fail("--metrics " + cfg.metrics + ": " + server.error().to_string());
    metrics_server = std::move(*server);
    log_line(LogLevel::info, "metrics on http://" + cfg.metrics + "/metrics");
  }
  std::map<std::string, uint16_t> index_of;
  for (const auto& p : cfg.ports) {
    // A port that cannot start (a socket path that cannot be listened on, an interface that is
    // missing or down, devargs DPDK refuses) is a configuration the operator has to mend.
    auto index = control.add_configured_port(p);
    if (!index) return fail(index.error().message(), kExitUsage);
    index_of[p.name] = *index;
  }
  for (size_t i = 0; i < cfg.disks.size(); ++i) {
    auto index = control.add_configured_disk(cfg.disks[i], std::move(images[i]));
    if (!index) return fail(index.error().message(), kExitUsage);
  }
  for (const auto& [a, b] : cfg.cross_connects) {
    if (Status s = engine.connect(index_of[a], index_of[b]); !s.ok())
      return fail(s.error().message(), kExitFailure);
    log_line(LogLevel::info, "cross-connect " + a + " <-> " + b);
  }
  if (Status s = engine.start(); !s.ok()) return fail(s.error().message(), kExitFailure);
  log_line(LogLevel::info, "running: " + std::to_string(cores->size()) + " worker(s) on core(s) " +
                               format_core_list(*cores) + ", control thread " + control_text +
                               ", mode " + cfg.mode);

  bool stopping = false;
  Status watching = (*loop)->watch(sigfd.get(), EPOLLIN, [&](uint32_t) {
    signalfd_siginfo info{};
    while (read(sigfd.get(), &info, sizeof(info)) == sizeof(info)) {
      if (info.ssi_signo == SIGUSR1) {
        for (const auto& d : engine.disks()) {
          if (d == nullptr) continue;
          if (auto changed = d->refresh_capacity(); !changed.ok()) {
            log_line(LogLevel::warn, d->name() + ": " + changed.error().message());
          }
        }
        continue;
      }
      log_line(LogLevel::info, std::string("received ") +
                                   strsignal(static_cast<int>(info.ssi_signo)) + ", stopping");
      stopping = true;
    }
  });
  if (!watching.ok()) {
    engine.stop();
    return fail("cannot watch for signals: " + watching.error().message(), kExitFailure);
  }

  using Clock = std::chrono::steady_clock;
  auto started = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - started).count(); };
  dataplane::EngineTotals last = dataplane::totals(engine, 0);
  // By name: disks come and go through the API.
  std::map<std::string, dataplane::DiskTotals> last_disks;
  double next_stats = cfg.stats_interval;
  while (!stopping) {
    if (auto r = (*loop)->run_once(20); !r.ok()) {
      engine.stop();  // the workers must not outlive the ports they poll
      return fail(r.error().to_string(), kExitFailure);
    }
    auto now = Clock::now();
    for (const auto& p : engine.ports()) {
      if (p != nullptr) p->tick(now);
    }
    engine.tick();
    control.tick(now, cfg.rebalance_interval);
    if (api_server) api_server->tick(now);
    if (metrics_server) metrics_server->tick(now);
    for (const auto& d : engine.disks()) {
      if (d != nullptr) d->tick(now);
    }
    double t = elapsed();
    if (cfg.stats_interval > 0 && t >= next_stats) {
      auto current = dataplane::totals(engine, t);
      std::fprintf(stderr, "%s\n", dataplane::rate_line(current, last).c_str());
      last = current;
      std::map<std::string, dataplane::DiskTotals> disk_now;
      for (const auto& d : engine.disks()) {
        if (d == nullptr) continue;
        auto now_disk = dataplane::disk_totals(*d, t);
        auto before = last_disks.find(d->name());
        // A disk added since the last line: its counters started at zero within the interval.
        dataplane::DiskTotals since{.seconds = t - cfg.stats_interval};
        if (before != last_disks.end()) since = before->second;
        std::fprintf(stderr, "%s\n", dataplane::disk_rate_line(d->name(), now_disk, since).c_str());
        disk_now[d->name()] = now_disk;
      }
      last_disks = std::move(disk_now);
      next_stats += cfg.stats_interval;
    }
    if (cfg.duration > 0 && t >= cfg.duration) stopping = true;
  }
  double seconds = elapsed();
  engine.stop();
  nlohmann::json doc = dataplane::summary_json(engine, seconds);
  // The vhost-user connection's own counters (the control thread's; read on it). Found by
  // name, once each: a scan of every port per port would be quadratic in up to 65535 ports.
  std::map<std::string, dataplane::Port*> by_name;
  for (const auto& p : engine.ports()) {
    if (p != nullptr) by_name[p->name()] = p.get();
  }
  for (auto& port : doc["ports"]) {
    auto at = by_name.find(port["name"].get<std::string>());
    if (at == by_name.end()) continue;
    if (auto* vhost = dynamic_cast<dataplane::VhostNetPort*>(at->second)) {
      port["vhost_user"] = dataplane::vhost_user_json(vhost->device().stats());
    }
  }
  std::string summary = doc.dump(2);
  if (cfg.summary_path.empty() || cfg.summary_path == "-") {
    std::printf("%s\n", summary.c_str());
  } else {
    std::ofstream out(cfg.summary_path);
    out << summary << "\n";
    if (!out) return fail("cannot write summary to " + cfg.summary_path, kExitFailure);
  }
  return kExitDone;
}

int main(int argc, char** argv) {
  return run_main(kProgram, run_daemon, argc, argv);
}
