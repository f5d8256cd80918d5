// DaemonApi: the daemon's HTTP+JSON API without the HTTP. It takes a request's method, target
// and body as text, routes it to a ControlTarget and answers with a status, a body and its
// content type; the transport (http/'s HttpServer, wired in the daemon) only moves bytes. So the
// whole API, every error included, is testable and fuzzable without sockets.
//
// Endpoints (JSON unless stated; errors are {"error": "..."}):
//   GET    /status                      the daemon and its counts
//   GET    /ports                       every port, summed over its queues
//   POST   /ports                       add a port: an object of --port keys (+ "peer"); 201
//   GET    /ports/NAME                  one port with its queues and counters
//   DELETE /ports/NAME                  remove a port
//   PUT    /ports/NAME/queues/QP        {"worker": N}: move a queue pair to a worker
//   GET    /disks                       every disk, summed over its queues
//   POST   /disks                       add a disk: an object of --disk keys; 201 (409 when
//                                       its name, socket or image is another's)
//   GET    /disks/NAME                  one disk with its queues
//   DELETE /disks/NAME                  remove a disk (its requests in flight complete first)
//   GET    /workers                     the workers with their queues
//   POST   /workers/rebalance           balance queues over workers by measured cycles
//   POST   /workers/reset-gaps          start measuring each queue's longest gap between bursts
//                                       (max_gap_us) again
//   GET    /fdb                         the learned stations
//   DELETE /fdb[?port=NAME]             forget them (all, or one port's)
//   GET    /metrics                     Prometheus text format 0.0.4
// Status codes: 400 bad input (malformed JSON, wrong types, unknown keys, a spec error), 404
// unknown path, port or disk, 405 known path with another method, 409 the target's EEXIST, EADDRINUSE
// or EBUSY, 500 any other error of the target. A refused request calls no mutating method of the
// target, so it changes nothing. Path segments and the query's value may be percent-encoded.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ringlane/control/control_target.h"

namespace ringlane::control {

struct ApiReply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
};

class DaemonApi {
 public:
  explicit DaemonApi(ControlTarget& target) : target_(target) {}

  // One request. `target` is the request target as sent (path and optional query).
  ApiReply handle(std::string_view method, std::string_view target, std::string_view body);
  // A request the transport refused before it could be handled (malformed HTTP, a timeout):
  // answered as the API's errors are, and counted.
  ApiReply refuse(int status, std::string_view message);

  // Requests handled or refused, and those of them answered with a status of 400 or more.
  uint64_t requests() const { return requests_; }
  uint64_t bad_requests() const { return bad_requests_; }

 private:
  ApiReply route(std::string_view method, std::string_view target, std::string_view body);

  ControlTarget& target_;
  uint64_t requests_ = 0;
  uint64_t bad_requests_ = 0;
};

}  // namespace ringlane::control
