#include "ringlane/http/http_request.h"

namespace ringlane::http {

namespace {

using Status = HttpParseStatus;

// RFC 9110 token characters (methods and header names).
bool is_tchar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool is_visible_ascii(char c) {
  return c > 0x20 && c < 0x7f;
}

// Header values: visible characters, space and tab, and (obsolete but legal) bytes >= 0x80.
bool is_field_char(char c) {
  auto u = static_cast<unsigned char>(c);
  return u == '\t' || (u >= 0x20 && u != 0x7f);
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] - 'A' + 'a') : b[i];
    if (x != y) return false;
  }
  return true;
}

std::string_view trim_whitespace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

enum class LineScan { found, incomplete, bare_lf, too_long };

// The CRLF-terminated line starting at `pos` (without its CRLF) and where the next one starts.
// The head may not reach beyond kMaxHttpHead, so neither does the search.
LineScan next_line(std::string_view data, size_t pos, std::string_view& line, size_t& next) {
  size_t limit = data.size() < kMaxHttpHead ? data.size() : kMaxHttpHead;
  size_t lf = pos < limit ? data.substr(0, limit).find('\n', pos) : std::string_view::npos;
  if (lf == std::string_view::npos) {
    return data.size() >= kMaxHttpHead ? LineScan::too_long : LineScan::incomplete;
  }
  if (lf == pos || data[lf - 1] != '\r') return LineScan::bare_lf;
  line = data.substr(pos, lf - 1 - pos);
  next = lf + 1;
  return LineScan::found;
}

// A line still arriving may end in the CR of its CRLF; anything else must be allowed in a line.
template <typename Allowed>
bool partial_line_ok(std::string_view partial, Allowed allowed) {
  if (!partial.empty() && partial.back() == '\r') partial.remove_suffix(1);
  for (char c : partial) {
    if (!allowed(c)) return false;
  }
  return true;
}

bool request_line_char(char c) {
  return c == ' ' || is_visible_ascii(c);
}

// A request line that has not ended yet: its method so far must be a token, and it may hold
// only characters a request line can.
bool request_line_prefix_ok(std::string_view partial) {
  if (!partial_line_ok(partial, request_line_char)) return false;
  size_t space = partial.find(' ');
  std::string_view method = partial.substr(0, space);
  for (char c : method) {
    if (!is_tchar(c)) return false;
  }
  return true;
}

Status parse_request_line(std::string_view line, HttpRequest& request) {
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0) return Status::malformed_request_line;
  size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return Status::malformed_request_line;
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  for (char c : method) {
    if (!is_tchar(c)) return Status::malformed_request_line;
  }
  if (target.empty() || target.front() != '/') return Status::malformed_request_line;
  for (char c : target) {
    if (!is_visible_ascii(c)) return Status::malformed_request_line;
  }
  // HTTP-version = "HTTP/" DIGIT "." DIGIT
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[5] < '0' ||
      version[5] > '9' || version[6] != '.' || version[7] < '0' || version[7] > '9') {
    return Status::malformed_request_line;
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return Status::unsupported_version;
  if (method != "GET" && method != "PUT" && method != "POST" && method != "DELETE") {
    return Status::unsupported_method;
  }
  request.method = method;
  request.target = target;
  return Status::complete;
}

// Content-Length: 1*DIGIT, and at most kMaxHttpBody.
Status parse_content_length(std::string_view value, size_t& length) {
  if (value.empty()) return Status::bad_content_length;
  size_t n = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return Status::bad_content_length;
  }
  for (char c : value) {
    n = n * 10 + static_cast<size_t>(c - '0');
    if (n > kMaxHttpBody) return Status::body_too_large;
  }
  length = n;
  return Status::complete;
}

}  // namespace

const char* describe(HttpParseStatus status) {
  switch (status) {
    case Status::complete:
      return "complete request";
    case Status::incomplete:
      return "incomplete request";
    case Status::malformed_request_line:
      return "malformed request line: expected METHOD /path HTTP/1.1";
    case Status::unsupported_method:
      return "unsupported method: only GET, PUT, POST and DELETE";
    case Status::unsupported_version:
      return "unsupported HTTP version: only HTTP/1.1 and HTTP/1.0";
    case Status::malformed_header:
      return "malformed header line: expected Name: value, ending in CRLF";
    case Status::head_too_large:
      return "request line and headers larger than 8 KiB or more than 64 headers";
    case Status::bad_content_length:
      return "bad Content-Length: expected one decimal number";
    case Status::body_too_large:
      return "request body larger than 64 KiB";
    case Status::unsupported_transfer_encoding:
      return "Transfer-Encoding is not supported: send a Content-Length";
  }
  return "bad request";
}

int http_status(HttpParseStatus status) {
  switch (status) {
    case Status::complete:
      return 200;
    case Status::unsupported_method:
      return 405;
    case Status::unsupported_version:
      return 505;
    case Status::head_too_large:
      return 431;
    case Status::body_too_large:
      return 413;
    default:
      return 400;
  }
}

HttpParseResult parse_http_request(std::string_view data) {
  HttpParseResult result;
  HttpRequest& request = result.request;
  std::string_view line;
  size_t pos = 0;
  switch (next_line(data, pos, line, pos)) {
    case LineScan::found:
      break;
    case LineScan::incomplete:
      result.status =
          request_line_prefix_ok(data) ? Status::incomplete : Status::malformed_request_line;
      return result;
    case LineScan::bare_lf:
      result.status = Status::malformed_request_line;
      return result;
    case LineScan::too_long:
      result.status = Status::head_too_large;
      return result;
  }
  if (Status s = parse_request_line(line, request); s != Status::complete) {
    result.status = s;
    return result;
  }

  bool have_length = false;
  for (size_t headers = 0;; ++headers) {
    LineScan scan = next_line(data, pos, line, pos);
    if (scan == LineScan::too_long) {
      result.status = Status::head_too_large;
      return result;
    }
    if (scan == LineScan::bare_lf) {
      result.status = Status::malformed_header;
      return result;
    }
    if (scan == LineScan::incomplete) {
      result.status = partial_line_ok(data.substr(pos), is_field_char) ? Status::incomplete
                                                                       : Status::malformed_header;
      return result;
    }
    if (line.empty()) break;  // the blank line ending the head
    if (headers == kMaxHttpHeaders) {
      result.status = Status::head_too_large;
      return result;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      result.status = Status::malformed_header;  // also obsolete line folding (leading space)
      return result;
    }
    std::string_view name = line.substr(0, colon);
    std::string_view value = trim_whitespace(line.substr(colon + 1));
    bool ok = true;
    for (char c : name) ok = ok && is_tchar(c);
    for (char c : value) ok = ok && is_field_char(c);
    if (!ok) {
      result.status = Status::malformed_header;
      return result;
    }
    if (equals_ignoring_case(name, "content-length")) {
      if (have_length) {
        result.status = Status::bad_content_length;
        return result;
      }
      have_length = true;
      if (Status s = parse_content_length(value, request.content_length); s != Status::complete) {
        result.status = s;
        return result;
      }
    } else if (equals_ignoring_case(name, "transfer-encoding")) {
      result.status = Status::unsupported_transfer_encoding;
      return result;
    }
  }

  if (data.size() - pos < request.content_length) {
    result.status = Status::incomplete;
    return result;
  }
  request.body = data.substr(pos, request.content_length);
  request.size = pos + request.content_length;
  result.status = Status::complete;
  return result;
}

// Empty results are empty views at the right place in the input, never null views, so that
// every result lies inside what it was taken from.
HttpTarget split_target(std::string_view target) {
  size_t mark = target.find('?');
  if (mark == std::string_view::npos) return {target, target.substr(target.size())};
  return {target.substr(0, mark), target.substr(mark + 1)};
}

std::optional<std::string_view> query_value(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? query.substr(query.size()) : query.substr(amp + 1);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) != key) continue;
    return eq == std::string_view::npos ? pair.substr(pair.size()) : pair.substr(eq + 1);
  }
  return std::nullopt;
}

}  // namespace ringlane::http
