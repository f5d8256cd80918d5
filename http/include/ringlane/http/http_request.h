// parse_http_request: one HTTP/1.x request (request line, headers, a Content-Length body) from
// the bytes received so far, as HttpServer needs it; split_target and query_value take its target
// apart. Pure: no I/O, no allocation; the request
// refers into the input and nothing past its end is read. Strict where leniency would only hide
// client bugs: lines end in CRLF, one space between the request line's three parts, no
// Transfer-Encoding, at most one Content-Length.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace ringlane::http {

// Request line and headers, the blank line included; longer is refused before the end arrives.
inline constexpr size_t kMaxHttpHead = 8192;
inline constexpr size_t kMaxHttpHeaders = 64;
inline constexpr size_t kMaxHttpBody = 65536;

enum class HttpParseStatus {
  complete,
  incomplete,              // a prefix of a possibly valid request: read more
  malformed_request_line,  // not "METHOD /path HTTP/1.x", or bytes no request line has
  unsupported_method,      // a well-formed method other than GET, PUT, POST, DELETE
  unsupported_version,     // HTTP/2, HTTP/0.9, ...
  malformed_header,        // no colon, a bad name, a bare LF, a control character, line folding
  head_too_large,          // more than kMaxHttpHead bytes or kMaxHttpHeaders headers
  bad_content_length,      // not a decimal number, or given twice
  body_too_large,          // Content-Length above kMaxHttpBody
  unsupported_transfer_encoding,
};

// What went wrong, for the client ("malformed request line: expected METHOD /path HTTP/1.1").
const char* describe(HttpParseStatus status);
// The HTTP status code that answers a request refused with `status` (400, 405, 413, 431, 505).
int http_status(HttpParseStatus status);

struct HttpRequest {
  std::string_view method;  // "GET", "PUT", "POST" or "DELETE"
  std::string_view target;  // origin form: starts with '/', printable ASCII
  std::string_view body;    // exactly Content-Length bytes (empty without the header)
  size_t content_length = 0;
  size_t size = 0;  // input bytes the request took, head and body; anything after is ignored
};

struct HttpParseResult {
  HttpParseStatus status = HttpParseStatus::incomplete;
  HttpRequest request;  // meaningful only when status is complete
};

HttpParseResult parse_http_request(std::string_view data);

// A request target in origin form split at its first '?': "/fdb?port=vm0" is {"/fdb",
// "port=vm0"}; without a '?' the query is empty.
struct HttpTarget {
  std::string_view path;
  std::string_view query;
};
HttpTarget split_target(std::string_view target);

// The value of `key` in a query of '&'-separated key=value pairs, as its exact bytes (no
// percent-decoding: the API's names are plain ASCII); "" for a key without '='; nullopt when the
// key is absent. The first occurrence wins.
std::optional<std::string_view> query_value(std::string_view query, std::string_view key);

}  // namespace ringlane::http
