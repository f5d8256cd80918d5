// One request of ringlane-ctl to a program's API (ringlane-vmm's --api-sock, the ringlane
// daemon's --api-sock), sorted into what the exit status tells a script: an answer (0), a refusal
// (1: the API answered with an error status; its message and the status), or no answer (3: cannot
// connect, timed out, not HTTP, or not JSON); and the usual command built on it: one request, its
// answer printed.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace ringlane::ctl {

// ringlane-ctl's own exit status beside base/program.h's three.
inline constexpr int kExitNoAnswer = 3;

struct ApiEndpoint {
  std::string socket_path;
  std::chrono::milliseconds timeout{5000};
};

struct ApiOutcome {
  int exit_status = 0;  // 0, kExitFailure (refused) or kExitNoAnswer
  std::string message;  // why not, when exit_status is not 0 (without "ringlane-ctl: ")
  int http_status = 0;  // when there was an answer
  std::string raw;      // the answer's body as sent
  nlohmann::json body;  // ... parsed (an object or array on success)
};

// Sends `method path` with `body` (JSON or empty). A refusal's message is the answer's "error"
// (the daemon's) or "fault_message" (ringlane-vmm's) member, else its body, followed by
// " (HTTP STATUS)".
ApiOutcome call_api(const ApiEndpoint& api, std::string_view method, const std::string& path,
                    const std::string& body);

// One request, its answer printed on stdout: as it came with `raw` (--json), else through
// `view`. A failure is printed on stderr as "ringlane-ctl: MESSAGE". Returns the exit status.
int ask_and_print(const ApiEndpoint& api, bool raw, std::string_view method,
                  const std::string& path, const std::string& body,
                  std::string (*view)(const nlohmann::json&));

// A path segment for a name (a port's): every byte but letters, digits and "-._~"
// percent-encoded, so any name reaches the API as it is (the daemon decodes it).
std::string path_segment(std::string_view name);

}  // namespace ringlane::ctl
