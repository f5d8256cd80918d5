// A client for ringlane-vmm's REST API: one HTTP/1.1 request per connection over the VMM's Unix
// socket (--api-sock), the whole exchange within a time limit. Knows nothing of the resources;
// the CLI decides what to ask and how to show the answer.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "ringlane/base/result.h"

namespace ringlane::ctl {

struct ApiResponse {
  int status = 0;    // HTTP status code
  std::string body;  // JSON from ringlane-vmm
};

// The answers' size limit: ringlane-vmm's are a few KiB.
inline constexpr size_t kMaxApiResponse = 1 << 20;

// Sends `method path` with `body` (JSON, may be empty) and reads the answer until the server
// closes the connection. An answer with an error status is still an answer. Errors, by code:
// - connect's errno (ENOENT, ECONNREFUSED, EACCES, ...), or ENAMETOOLONG for a path that does
//   not fit a socket address: "cannot connect to ringlane-vmm API at PATH";
// - ETIMEDOUT: no complete answer within `timeout` (connecting, sending and receiving together);
// - EPROTO: an answer that is not HTTP, is cut short, or is larger than kMaxApiResponse;
// - ECONNRESET and other errnos of send and recv: the connection broke.
Result<ApiResponse> api_request(const std::string& socket_path, std::string_view method,
                                std::string_view path, std::string_view body,
                                std::chrono::milliseconds timeout);

// A complete HTTP/1.x response as received up to the end of the connection: status line,
// headers, and the body (exactly Content-Length bytes when given). EPROTO with the reason when
// it is not one.
Result<ApiResponse> parse_api_response(std::string_view data);

}  // namespace ringlane::ctl
