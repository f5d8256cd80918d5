// DaemonPort: a vhost-user port the VMM asked a running ringlane daemon to create for one of its
// NICs, through the daemon's API (`ringlane --api-sock`): POST /ports makes the daemon listen on
// a socket the VMM then connects to as the frontend, DELETE /ports/NAME takes it away. The object
// owns the port: it exists in the daemon while the object does (and remove() has not succeeded).
// Also the pure parts, kept apart so they can be tested without a daemon: the default port name
// and socket path, the request's JSON body, and what a daemon's refusal means.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <string_view>

#include "ringlane/base/result.h"
#include "ringlane/http/http_client.h"
#include "ringlane/vmm/nic/nic.h"

namespace ringlane::vmm {

struct DaemonPortSpec {
  std::string api_socket;   // the daemon's API socket (its --api-sock)
  std::string name;         // the port's name in the daemon
  std::string socket_path;  // where the daemon listens (server mode) and the VMM connects
  std::string peer;         // an xconnect daemon's port to cross-connect with, or ""
};

// How long one request to the daemon may take: adding or removing a port is quick, but the
// daemon's control thread may be busy with another client's request.
inline constexpr std::chrono::milliseconds kDaemonRequestTimeout{10000};

// "vm<pid>-<nic>": unique among the VMMs of one host while they run.
std::string default_daemon_port_name(pid_t pid, std::string_view nic);

// "<the API socket's directory>/ringlane-vmm-<pid>-<nic>.sock": a directory the daemon created
// its API socket in is one it can create the port's socket in.
std::string default_daemon_port_socket(std::string_view api_socket, pid_t pid,
                                       std::string_view nic);

// The port NIC `nic` (daemon= given) asks for: its port= or the default name, its socket= or the
// default path, made absolute from `cwd` (the VMM's working directory: the daemon's may be
// another), and its peer=. ENAMETOOLONG when the path does not fit a Unix socket address.
Result<DaemonPortSpec> daemon_port_spec(const NicSpec& nic, pid_t pid, std::string_view cwd);

// POST /ports' body: {"name": ..., "path": ..., "mode": "server"[, "peer": ...]}.
std::string daemon_port_request_body(const DaemonPortSpec& spec);

// The path of DELETE's target: /ports/NAME with NAME percent-encoded.
std::string daemon_port_target(std::string_view name);

// A daemon's answer with an error status as an Error: its JSON {"error": message} (or the body as
// it is, when it is not that) with the status, prefixed by `what` was asked. The code follows the
// status: 400 EINVAL, 404 ENOENT, 409 EEXIST, anything else EIO.
Error daemon_refusal(std::string_view what, const http::ApiResponse& answer);

// Whether a failure to reach the API means no daemon runs there (no socket, nobody listening):
// then the ports it had are gone with it.
bool daemon_gone(const Error& error);

class DaemonPort {
 public:
  // Asks the daemon to create the port and returns once it has (the daemon answers 201 once it
  // listens on the socket, so the VMM may connect at once). Errors name the daemon and carry its
  // message: see daemon_refusal; a daemon that cannot be reached keeps the client's errno.
  static Result<DaemonPort> create(const DaemonPortSpec& spec,
                                   std::chrono::milliseconds timeout = kDaemonRequestTimeout);

  // One owner: the moved-from object owns nothing. No assignment: replacing a port would remove
  // the old one behind the caller's back (std::optional's emplace says so).
  DaemonPort(DaemonPort&& other) noexcept;
  DaemonPort& operator=(DaemonPort&&) = delete;
  DaemonPort(const DaemonPort&) = delete;
  DaemonPort& operator=(const DaemonPort&) = delete;
  // Removes the port if it still exists; a failure is logged (the port then stays until someone
  // deletes it).
  ~DaemonPort();

  const DaemonPortSpec& spec() const { return spec_; }
  // The daemon has the port, as far as the VMM knows.
  bool exists() const { return exists_; }
  // DELETE /ports/NAME. Also done when the daemon no longer has it (404) or no longer runs. On
  // any other failure the port still exists (exists() stays true) and the error says why.
  Status remove();

 private:
  DaemonPort(DaemonPortSpec spec, std::chrono::milliseconds timeout)
      : spec_(std::move(spec)), timeout_(timeout), exists_(true) {}

  DaemonPortSpec spec_;
  std::chrono::milliseconds timeout_;
  bool exists_ = false;
};

}  // namespace ringlane::vmm
