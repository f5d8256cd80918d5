#include "ringlane/ctl/daemon_commands.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "ringlane/base/program.h"
#include "ringlane/ctl/daemon_view.h"
#include "ringlane/ctl/spec_json.h"

namespace ringlane::ctl {

namespace {

using nlohmann::json;

constexpr const char* kProgram = "ringlane-ctl";

// A name on the command line is sent percent-encoded, so only "" cannot be one.
bool named(const std::string& what, const std::string& name, int& status) {
  if (!name.empty()) return true;
  status = report_failure(kProgram, what + " must not be empty", kExitUsage);
  return false;
}

}  // namespace

DaemonCommands::DaemonCommands(CLI::App& app) {
  status_ = app.add_subcommand("status",
                               "the ringlane daemon: version, mode, idle policy, "
                               "uptime, port, disk and worker counts (GET /status)");

  CLI::App* port = app.add_subcommand("port", "the daemon's ports: list, show, add, del");
  port->require_subcommand(1);
  port_list_ = port->add_subcommand(
      "list", "every port: kind, connected, queue pairs, VLANs, peer, packets, drops (GET /ports)");
  port_show_ = port->add_subcommand(
      "show", "one port: features, each queue pair's worker and counters (GET /ports/NAME)");
  port_add_ = port->add_subcommand(
      "add", "add a port while the daemon runs, from a --port spec (POST /ports)");
  port_del_ = port->add_subcommand(
      "del", "remove a port; its frontend is disconnected (DELETE /ports/NAME)");
  for (CLI::App* c : {port_show_, port_del_}) {
    c->add_option("NAME", name_, "the port's name")->required();
  }
  port_add_
      ->add_option("SPEC", spec_,
                   "the port as ringlane's --port takes it: name=vm2,path=/run/vm2.sock,queues=2 "
                   "(quote a value holding commas: devargs=\"net_pcap0,iface=lo\")")
      ->required();
  port_add_->add_option("--peer", peer_,
                        "cross-connect it with this port, which has no peer yet (xconnect mode)");

  CLI::App* disk = app.add_subcommand("disk", "the daemon's disks: list, show, add, del");
  disk->require_subcommand(1);
  disk_list_ = disk->add_subcommand(
      "list",
      "every disk: connected, mode, queues, read-only, size, requests, bytes read and written, "
      "errors (GET /disks)");
  disk_show_ = disk->add_subcommand(
      "show",
      "one disk: socket, image, features, each queue's worker and counters (GET /disks/NAME)");
  disk_add_ = disk->add_subcommand(
      "add", "serve a disk while the daemon runs, from a --disk spec (POST /disks)");
  disk_del_ = disk->add_subcommand(
      "del",
      "remove a disk: its frontend is disconnected once its requests in flight complete "
      "(DELETE /disks/NAME)");
  for (CLI::App* c : {disk_show_, disk_del_}) {
    c->add_option("NAME", name_, "the disk's name")->required();
  }
  disk_add_
      ->add_option("SPEC", spec_,
                   "the disk as ringlane's --disk takes it: "
                   "name=d1,path=/run/d1.sock,file=/var/lib/d1.img,queues=2 (quote a value "
                   "holding commas: file=\"/srv/a,b.img\")")
      ->required();

  CLI::App* worker = app.add_subcommand("worker", "the daemon's workers: list, rebalance");
  worker->require_subcommand(1);
  worker_list_ = worker->add_subcommand(
      "list",
      "each worker: core, packets, busy and idle share, cycles per packet, sleeps, its "
      "queue pairs (GET /workers)");
  worker_rebalance_ =
      worker->add_subcommand("rebalance",
                             "spread the queue pairs over the workers by the cycles each cost "
                             "(POST /workers/rebalance)");

  CLI::App* queue = app.add_subcommand("queue", "the ports' queue pairs: move");
  queue->require_subcommand(1);
  queue_move_ = queue->add_subcommand(
      "move", "have another worker poll a port's queue pair (PUT /ports/PORT/queues/QP)");
  queue_move_->add_option("PORT", name_, "the port")->required();
  queue_move_->add_option("QP", queue_pair_, "the queue pair's number (0, 1, ...)")->required();
  queue_move_->add_option("WORKER", worker_, "the worker's index, as worker list shows it")
      ->required();

  CLI::App* fdb = app.add_subcommand("fdb", "the L2 switch's MAC table: show, flush");
  fdb->require_subcommand(1);
  fdb_show_ = fdb->add_subcommand(
      "show", "the learned stations: MAC, VLAN, port, age in seconds (GET /fdb)");
  fdb_flush_ = fdb->add_subcommand("flush", "forget the learned stations (DELETE /fdb)");
  fdb_flush_->add_option("--port", fdb_port_, "only those learned on this port");

  top_ = app.add_subcommand(
      "top",
      "a live view of ports (packets and drops per second) and workers (busy share, "
      "cycles per packet, sleeps per second), rates between readings of GET /ports and "
      "GET /workers; redraws a terminal, else writes one view after another");
  top_->add_option("--interval", top_options_.interval_seconds,
                   "seconds between readings (default 1)")
      ->check(CLI::Range(0.01, 3600.0));
  top_->add_option("--count", top_count_, "stop after this many views (default: when interrupted)")
      ->check(CLI::PositiveNumber);
}

std::optional<int> DaemonCommands::run(const ApiEndpoint& api, bool json_out) const {
  int status = kExitDone;
  const std::string port_path = "/ports/" + path_segment(name_);
  if (status_->parsed()) return ask_and_print(api, json_out, "GET", "/status", "", format_status);
  if (port_list_->parsed()) return ask_and_print(api, json_out, "GET", "/ports", "", format_ports);
  if (port_show_->parsed()) {
    if (!named("NAME", name_, status)) return status;
    return ask_and_print(api, json_out, "GET", port_path, "", format_port);
  }
  if (port_add_->parsed()) {
    Result<json> body = spec_json(spec_, SpecOf::kPort);
    if (!body.ok()) {
      return report_failure(kProgram, "SPEC: " + body.error().message(), kExitUsage);
    }
    if (port_add_->count("--peer") > 0) {
      if (!named("--peer", peer_, status)) return status;
      (*body)["peer"] = peer_;
    }
    return ask_and_print(api, json_out, "POST", "/ports",
                         body->dump(-1, ' ', false, json::error_handler_t::replace),
                         format_port_added);
  }
  if (port_del_->parsed()) {
    if (!named("NAME", name_, status)) return status;
    return ask_and_print(api, json_out, "DELETE", port_path, "", format_port_removed);
  }
  const std::string disk_path = "/disks/" + path_segment(name_);
  if (disk_list_->parsed()) return ask_and_print(api, json_out, "GET", "/disks", "", format_disks);
  if (disk_show_->parsed()) {
    if (!named("NAME", name_, status)) return status;
    return ask_and_print(api, json_out, "GET", disk_path, "", format_disk);
  }
  if (disk_add_->parsed()) {
    Result<json> body = spec_json(spec_, SpecOf::kDisk);
    if (!body.ok()) {
      return report_failure(kProgram, "SPEC: " + body.error().message(), kExitUsage);
    }
    return ask_and_print(api, json_out, "POST", "/disks",
                         body->dump(-1, ' ', false, json::error_handler_t::replace),
                         format_disk_added);
  }
  if (disk_del_->parsed()) {
    if (!named("NAME", name_, status)) return status;
    return ask_and_print(api, json_out, "DELETE", disk_path, "", format_disk_removed);
  }
  if (worker_list_->parsed())
    return ask_and_print(api, json_out, "GET", "/workers", "", format_workers);
  if (worker_rebalance_->parsed()) {
    return ask_and_print(api, json_out, "POST", "/workers/rebalance", "", format_rebalanced);
  }
  if (queue_move_->parsed()) {
    if (!named("PORT", name_, status)) return status;
    return ask_and_print(api, json_out, "PUT", port_path + "/queues/" + std::to_string(queue_pair_),
                         json{{"worker", worker_}}.dump(), format_queue_moved);
  }
  if (fdb_show_->parsed()) return ask_and_print(api, json_out, "GET", "/fdb", "", format_fdb);
  if (fdb_flush_->parsed()) {
    std::string path = "/fdb";
    if (fdb_flush_->count("--port") > 0) {
      if (!named("--port", fdb_port_, status)) return status;
      path += "?port=" + path_segment(fdb_port_);
    }
    return ask_and_print(api, json_out, "DELETE", path, "", format_fdb_flushed);
  }
  if (top_->parsed()) {
    TopOptions options = top_options_;
    options.json = json_out;
    if (top_count_ > 0) options.count = top_count_;
    return run_top(api, options);
  }
  return std::nullopt;
}

}  // namespace ringlane::ctl
