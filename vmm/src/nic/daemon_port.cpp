#include "ringlane/vmm/nic/daemon_port.h"

#include <sys/un.h>

#include <cerrno>
#include <nlohmann/json.hpp>
#include <utility>

#include "ringlane/base/log.h"

namespace ringlane::vmm {

namespace {

using Json = nlohmann::json;

// Longest path a Unix socket address holds (sun_path with its terminating NUL).
constexpr size_t kMaxSocketPath = sizeof(sockaddr_un::sun_path) - 1;

std::string dump(const Json& json) {
  // Names and paths are the user's bytes: never throw on one that is not UTF-8.
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string daemon_at(const std::string& api_socket) {
  return "ringlane daemon (API " + api_socket + ")";
}

}  // namespace

std::string default_daemon_port_name(pid_t pid, std::string_view nic) {
  return "vm" + std::to_string(pid) + "-" + std::string(nic);
}

std::string default_daemon_port_socket(std::string_view api_socket, pid_t pid,
                                       std::string_view nic) {
  size_t slash = api_socket.rfind('/');
  std::string dir =
      slash == std::string_view::npos ? "" : std::string(api_socket.substr(0, slash + 1));
  return dir + "ringlane-vmm-" + std::to_string(pid) + "-" + std::string(nic) + ".sock";
}

Result<DaemonPortSpec> daemon_port_spec(const NicSpec& nic, pid_t pid, std::string_view cwd) {
  DaemonPortSpec spec;
  spec.api_socket = nic.daemon;
  spec.name = nic.port.empty() ? default_daemon_port_name(pid, nic.name) : nic.port;
  spec.peer = nic.peer;
  spec.socket_path =
      nic.socket.empty() ? default_daemon_port_socket(nic.daemon, pid, nic.name) : nic.socket;
  if (spec.socket_path[0] != '/') {
    std::string base(cwd);
    if (base.empty() || base.back() != '/') base += '/';
    spec.socket_path = base + spec.socket_path;
  }
  if (spec.socket_path.size() > kMaxSocketPath) {
    return Error(ENAMETOOLONG, "the port's socket path " + spec.socket_path +
                                   " is longer than a Unix socket address takes (" +
                                   std::to_string(kMaxSocketPath) +
                                   " bytes): give a shorter one with socket=");
  }
  return spec;
}

std::string daemon_port_request_body(const DaemonPortSpec& spec) {
  Json body = {{"name", spec.name}, {"path", spec.socket_path}, {"mode", "server"}};
  if (!spec.peer.empty()) body["peer"] = spec.peer;
  return dump(body);
}

std::string daemon_port_target(std::string_view name) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string target = "/ports/";
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    bool unreserved = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') ||
                      c == '-' || c == '_' || c == '.' || c == '~';
    if (unreserved) {
      target += c;
    } else {
      target += '%';
      target += kHex[u >> 4];
      target += kHex[u & 0xf];
    }
  }
  return target;
}

Error daemon_refusal(std::string_view what, const http::ApiResponse& answer) {
  std::string message;
  Json json = Json::parse(answer.body, nullptr, false);
  if (json.is_object() && json.contains("error") && json["error"].is_string()) {
    message = json["error"].get<std::string>();
  } else {
    // Not the daemon's error shape (another program on that socket?): show what came, briefly.
    constexpr size_t kShown = 200;
    message = answer.body.size() > kShown ? answer.body.substr(0, kShown) + "..." : answer.body;
    if (message.empty()) message = "(no message)";
  }
  int code = EIO;
  if (answer.status == 400) code = EINVAL;
  if (answer.status == 404) code = ENOENT;
  if (answer.status == 409) code = EEXIST;
  return Error(code,
               std::string(what) + ": HTTP " + std::to_string(answer.status) + ": " + message);
}

bool daemon_gone(const Error& error) {
  return error.code() == ENOENT || error.code() == ECONNREFUSED;
}

Result<DaemonPort> DaemonPort::create(const DaemonPortSpec& spec,
                                      std::chrono::milliseconds timeout) {
  std::string what = daemon_at(spec.api_socket) + " refused to create port '" + spec.name + "'";
  Result<http::ApiResponse> answer =
      http::api_request(spec.api_socket, "POST", "/ports", daemon_port_request_body(spec), timeout);
  if (!answer.ok()) {
    // Whether the port exists after a timeout or a broken connection is unknown; a daemon that
    // did create it has it until someone deletes it, as after a VMM killed by SIGKILL.
    return Error(answer.error().code(), "cannot ask the ringlane daemon for port '" + spec.name +
                                            "': " + answer.error().message());
  }
  if (answer->status != 201) return daemon_refusal(what, *answer);
  log_line(LogLevel::info, daemon_at(spec.api_socket) + " created port '" + spec.name +
                               "', listening on " + spec.socket_path +
                               (spec.peer.empty() ? "" : ", cross-connected with " + spec.peer));
  return DaemonPort(spec, timeout);
}

DaemonPort::DaemonPort(DaemonPort&& other) noexcept
    : spec_(std::move(other.spec_)),
      timeout_(other.timeout_),
      exists_(std::exchange(other.exists_, false)) {}

// The JSON it handles cannot throw (parsed without exceptions, types checked before use): what is
// left is std::bad_alloc, which would end the process anyway.
DaemonPort::~DaemonPort() {  // NOLINT(bugprone-exception-escape)
  if (!exists_) return;
  if (Status removed = remove(); !removed.ok()) {
    log_line(LogLevel::warn, removed.error().to_string() + "; it stays until deleted by hand");
  }
}

Status DaemonPort::remove() {
  if (!exists_) return {};
  Result<http::ApiResponse> answer =
      http::api_request(spec_.api_socket, "DELETE", daemon_port_target(spec_.name), "", timeout_);
  if (!answer.ok()) {
    if (daemon_gone(answer.error())) {
      exists_ = false;
      log_line(LogLevel::info, "port '" + spec_.name + "': the ringlane daemon at " +
                                   spec_.api_socket + " is gone, and its ports with it");
      return {};
    }
    return Error(answer.error().code(), "cannot ask the ringlane daemon to remove port '" +
                                            spec_.name + "': " + answer.error().message());
  }
  if (answer->status == 404) {
    exists_ = false;
    log_line(LogLevel::info, "port '" + spec_.name + "' was already removed from the daemon at " +
                                 spec_.api_socket);
    return {};
  }
  if (answer->status != 200) {
    return daemon_refusal(
        daemon_at(spec_.api_socket) + " refused to remove port '" + spec_.name + "'", *answer);
  }
  exists_ = false;
  log_line(LogLevel::info, daemon_at(spec_.api_socket) + " removed port '" + spec_.name + "'");
  return {};
}

}  // namespace ringlane::vmm
