#include "ringlane/http/http_response.h"

#include <gtest/gtest.h>

#include <string>

namespace ringlane::http {
namespace {

TEST(HttpResponseTest, JsonByDefault) {
  EXPECT_EQ(format_response({200, R"({"a":1})"}),
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n"
            "Connection: close\r\n\r\n{\"a\":1}");
}

TEST(HttpResponseTest, OtherContentTypeAndEmptyBody) {
  HttpAnswer a{201, "", "text/plain; version=0.0.4"};
  EXPECT_EQ(format_response(a),
            "HTTP/1.1 201 Created\r\nContent-Type: text/plain; version=0.0.4\r\n"
            "Content-Length: 0\r\nConnection: close\r\n\r\n");
}

TEST(HttpResponseTest, ContentLengthCountsBytes) {
  std::string body(100000, 'x');
  body[5] = '\0';
  std::string text = format_response({500, body});
  EXPECT_NE(text.find("Content-Length: 100000\r\n"), std::string::npos);
  EXPECT_EQ(text.substr(text.size() - body.size()), body);
  EXPECT_EQ(text.substr(0, 35), "HTTP/1.1 500 Internal Server Error\r");
}

TEST(HttpResponseTest, ReasonPhrases) {
  const std::pair<int, const char*> phrases[] = {
      {200, "OK"},
      {201, "Created"},
      {400, "Bad Request"},
      {403, "Forbidden"},
      {404, "Not Found"},
      {405, "Method Not Allowed"},
      {408, "Request Timeout"},
      {409, "Conflict"},
      {413, "Payload Too Large"},
      {431, "Request Header Fields Too Large"},
      {500, "Internal Server Error"},
      {503, "Service Unavailable"},
      {505, "HTTP Version Not Supported"},
      {418, "Error"},
  };
  for (const auto& [status, phrase] : phrases) EXPECT_STREQ(reason_phrase(status), phrase);
}

}  // namespace
}  // namespace ringlane::http
