// How ringlane-ctl shows the ringlane daemon's API answers (its --api-sock) to a person: pure
// functions from the answer's JSON to text. Tables for lists (ports, disks, workers, the MAC
// table), "key: value" lines for one thing, a line for what a change did. Sizes are MiB with one
// decimal ("8.0 MiB"). Fields missing from an answer
// show as "-" (an older or newer daemon), never as an error.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace ringlane::ctl {

// GET /status: version, mode, idle policy, uptime, counts (disks only when the answer counts them).
std::string format_status(const nlohmann::json& status);
// GET /ports: NAME KIND CONNECTED QUEUES VLANS PEER RX_PACKETS TX_PACKETS DROPS.
std::string format_ports(const nlohmann::json& answer);
// GET /ports/NAME: the port in "key: value" lines, a table of its queue pairs (QP WORKER RX TX
// RX_PACKETS RX_BYTES TX_PACKETS TX_BYTES DROPS RING_ERRORS KICKS CALLS RX_RING TX_RING
// CYCLES/PKT), the drops by reason where there are any, and the port's own counters.
std::string format_port(const nlohmann::json& port);
// POST /ports' 201: one line naming the port added.
std::string format_port_added(const nlohmann::json& port);
// DELETE /ports/NAME.
std::string format_port_removed(const nlohmann::json& answer);
// GET /disks: NAME CONNECTED MODE QUEUES RO SIZE REQUESTS READ WRITTEN ERRORS (SIZE, READ and
// WRITTEN in MiB).
std::string format_disks(const nlohmann::json& answer);
// GET /disks/NAME: the disk in "key: value" lines (socket, image, mode, cache and O_DIRECT,
// size, negotiated features, totals), then a table of its queues (QUEUE WORKER LIVE IN_FLIGHT
// REQUESTS READS WRITES FLUSHES DISCARDS BYTES_READ BYTES_WRITTEN ERRORS RING_ERRORS).
std::string format_disk(const nlohmann::json& disk);
// POST /disks' 201: one line naming the disk added, its socket and its image.
std::string format_disk_added(const nlohmann::json& disk);
// DELETE /disks/NAME.
std::string format_disk_removed(const nlohmann::json& answer);
// GET /workers: WORKER CORE PACKETS BUSY% CYCLES/PKT IDLE% SLEEPS QUEUES, shares and cycles since
// the daemon started (`top` shows them per interval); QUEUES as port:queue_pair,...
std::string format_workers(const nlohmann::json& answer);
// PUT /ports/NAME/queues/QP.
std::string format_queue_moved(const nlohmann::json& answer);
// POST /workers/rebalance.
std::string format_rebalanced(const nlohmann::json& answer);
// GET /fdb: MAC PORT VLAN AGE_S.
std::string format_fdb(const nlohmann::json& answer);
// DELETE /fdb.
std::string format_fdb_flushed(const nlohmann::json& answer);
// One view of `ringlane-ctl top`: a line about the daemon (GET /status), then the rates
// (top_rates.h) of ports (PORT KIND CONNECTED RX_PPS TX_PPS DROPS/S) and workers (WORKER CORE
// BUSY% CYCLES/PKT QUEUES SLEEPS/S).
std::string format_top(const nlohmann::json& status, const nlohmann::json& rates);

}  // namespace ringlane::ctl
