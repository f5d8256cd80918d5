// A client for the programs' HTTP APIs (ringlane-vmm's and the ringlane daemon's): one HTTP/1.1
// request per connection over a Unix socket, the whole exchange within a time limit. Knows
// nothing of the resources; the caller decides what to ask and how to show the answer.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "ringlane/base/result.h"

namespace ringlane::http {

struct ApiResponse {
  int status = 0;    // HTTP status code
  std::string body;  // as sent (JSON from the programs' APIs)
};

// The answers' size limit: the APIs' are a few KiB (a daemon with many ports, tens of KiB).
inline constexpr size_t kMaxApiResponse = 1 << 20;

// Sends `method path` with `body` (JSON, may be empty) and reads the answer until the server
// closes the connection. An answer with an error status is still an answer. Errors, by code:
// - connect's errno (ENOENT, ECONNREFUSED, EACCES, ...), or ENAMETOOLONG for a path that does
//   not fit a socket address: "cannot connect to API at PATH";
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

}  // namespace ringlane::http
