// HttpAnswer: what a handler answers a request with, and format_response, its bytes on the wire
// (HTTP/1.1, one answer per connection, so always Connection: close).
#pragma once

#include <string>

namespace ringlane::http {

struct HttpAnswer {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
};

// The reason phrase of the statuses the programs answer with ("Not Found"); "Error" for others.
const char* reason_phrase(int status);

// Status line, Content-Type, Content-Length, Connection: close, the blank line, the body.
std::string format_response(const HttpAnswer& answer);

}  // namespace ringlane::http
