#include "ringlane/http/http_request.h"

#include <gtest/gtest.h>

#include <string>

namespace ringlane::http {
namespace {

using S = HttpParseStatus;

S status_of(std::string_view text) {
  return parse_http_request(text).status;
}

TEST(HttpRequestTest, GetWithoutBody) {
  std::string text = "GET /vm HTTP/1.1\r\nHost: localhost\r\n\r\n";
  HttpParseResult r = parse_http_request(text);
  ASSERT_EQ(r.status, S::complete);
  EXPECT_EQ(r.request.method, "GET");
  EXPECT_EQ(r.request.target, "/vm");
  EXPECT_EQ(r.request.body, "");
  EXPECT_EQ(r.request.content_length, 0u);
  EXPECT_EQ(r.request.size, text.size());
}

TEST(HttpRequestTest, PutWithBodyAndAnyCaseContentLength) {
  std::string body = R"({"mode": "vhost"})";
  std::string text = "PUT /vm/nics/net0 HTTP/1.1\r\ncontent-LENGTH:\t" +
                     std::to_string(body.size()) + "  \r\nContent-Type: application/json\r\n\r\n" +
                     body;
  HttpParseResult r = parse_http_request(text);
  ASSERT_EQ(r.status, S::complete);
  EXPECT_EQ(r.request.method, "PUT");
  EXPECT_EQ(r.request.target, "/vm/nics/net0");
  EXPECT_EQ(r.request.body, body);
  EXPECT_EQ(r.request.content_length, body.size());
  EXPECT_EQ(r.request.size, text.size());
}

TEST(HttpRequestTest, Http10IsAccepted) {
  EXPECT_EQ(status_of("GET /vm HTTP/1.0\r\n\r\n"), S::complete);
}

TEST(HttpRequestTest, BytesAfterTheBodyAreNotPartOfTheRequest) {
  std::string text = "PUT /x HTTP/1.1\r\nContent-Length: 2\r\n\r\nabGET / HTTP/1.1\r\n\r\n";
  HttpParseResult r = parse_http_request(text);
  ASSERT_EQ(r.status, S::complete);
  EXPECT_EQ(r.request.body, "ab");
  EXPECT_EQ(r.request.size, text.find("ab") + 2);
}

TEST(HttpRequestTest, EveryPrefixOfAValidRequestIsIncomplete) {
  std::string text = "PUT /vm/nics/net0 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
  for (size_t n = 0; n < text.size(); ++n) {
    EXPECT_EQ(status_of(text.substr(0, n)), S::incomplete) << "prefix of " << n << " bytes";
  }
  EXPECT_EQ(status_of(text), S::complete);
}

TEST(HttpRequestTest, ViewsPointIntoTheInput) {
  std::string text = "GET /vm/nics HTTP/1.1\r\n\r\n";
  HttpParseResult r = parse_http_request(text);
  ASSERT_EQ(r.status, S::complete);
  EXPECT_EQ(r.request.target.data(), text.data() + 4);
}

TEST(HttpRequestTest, MalformedRequestLines) {
  for (const char* line : {
           "GET\r\n\r\n",                      // no target, no version
           "GET /vm\r\n\r\n",                  // HTTP/0.9
           "GET  /vm HTTP/1.1\r\n\r\n",        // two spaces
           "GET /vm  HTTP/1.1\r\n\r\n",        // two spaces
           " GET /vm HTTP/1.1\r\n\r\n",        // leading space
           "GET vm HTTP/1.1\r\n\r\n",          // not origin form
           "GET * HTTP/1.1\r\n\r\n",           // asterisk form
           "GET /vm HTTP/1.1 x\r\n\r\n",       // trailing part
           "GET /vm http/1.1\r\n\r\n",         // version is case-sensitive
           "GET /vm HTTP/11\r\n\r\n",          // no dot
           "GET /vm HTTP/1.1x\r\n\r\n",        // trailing garbage
           "G(T /vm HTTP/1.1\r\n\r\n",         // not a token
           "GET /v\x01m HTTP/1.1\r\n\r\n",     // control character in the target
           "GET /v\xc3\xa9 HTTP/1.1\r\n\r\n",  // non-ASCII target
           "GET /vm HTTP/1.1\n\r\n",           // bare LF
           "\r\n\r\n",                         // empty request line
           "\n",                               // bare LF at once
       }) {
    EXPECT_EQ(status_of(line), S::malformed_request_line) << line;
  }
}

TEST(HttpRequestTest, GarbageIsRefusedBeforeALineEnds) {
  EXPECT_EQ(status_of(std::string("\x16\x03\x01\x02\x00", 5)), S::malformed_request_line);
  EXPECT_EQ(status_of("GE\rT"), S::malformed_request_line);
  EXPECT_EQ(status_of("GET /vm HTTP/1.1\r\nHost: a\x01"), S::malformed_header);
  // A CR that may still be followed by its LF is fine.
  EXPECT_EQ(status_of("GET /vm HTTP/1.1\r"), S::incomplete);
  EXPECT_EQ(status_of("GET /vm HTTP/1.1\r\nHost: a\r"), S::incomplete);
}

TEST(HttpRequestTest, GetPutPostAndDelete) {
  for (std::string method : {"GET", "PUT", "POST", "DELETE"}) {
    std::string text = method + " /ports/vm0 HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}";
    HttpParseResult r = parse_http_request(text);
    ASSERT_EQ(r.status, S::complete) << method;
    EXPECT_EQ(r.request.method, method);
    EXPECT_EQ(r.request.target, "/ports/vm0");
    EXPECT_EQ(r.request.body, "{}");
  }
}

TEST(HttpRequestTest, OtherMethodsAreRefused) {
  EXPECT_EQ(status_of("PATCH /vm HTTP/1.1\r\n\r\n"), S::unsupported_method);
  EXPECT_EQ(status_of("HEAD /vm HTTP/1.1\r\n\r\n"), S::unsupported_method);
  EXPECT_EQ(status_of("OPTIONS * HTTP/1.1\r\n\r\n"), S::malformed_request_line);
  EXPECT_EQ(status_of("get /vm HTTP/1.1\r\n\r\n"), S::unsupported_method);
  EXPECT_EQ(status_of("delete /vm HTTP/1.1\r\n\r\n"), S::unsupported_method);
  EXPECT_EQ(status_of("POSTS /vm HTTP/1.1\r\n\r\n"), S::unsupported_method);
  EXPECT_EQ(http_status(S::unsupported_method), 405);
  EXPECT_STREQ(describe(S::unsupported_method),
               "unsupported method: only GET, PUT, POST and DELETE");
}

TEST(HttpTargetTest, SplitAtTheFirstQuestionMark) {
  HttpTarget t = split_target("/fdb?port=vm0");
  EXPECT_EQ(t.path, "/fdb");
  EXPECT_EQ(t.query, "port=vm0");
  std::string_view plain = "/ports/vm0";
  t = split_target(plain);
  EXPECT_EQ(t.path, "/ports/vm0");
  EXPECT_EQ(t.query, "");
  EXPECT_EQ(t.query.data(), plain.data() + plain.size());  // empty, but inside the target
  t = split_target("/a?b?c");
  EXPECT_EQ(t.path, "/a");
  EXPECT_EQ(t.query, "b?c");
  t = split_target("/a?");
  EXPECT_EQ(t.path, "/a");
  EXPECT_EQ(t.query, "");
}

TEST(HttpTargetTest, QueryValues) {
  EXPECT_EQ(query_value("port=vm0", "port"), "vm0");
  EXPECT_EQ(query_value("a=1&port=vm0&b", "port"), "vm0");
  std::string_view flag = "a=1&b";
  ASSERT_EQ(query_value(flag, "b"), "");
  EXPECT_EQ(query_value(flag, "b")->data(), flag.data() + flag.size());
  EXPECT_EQ(query_value("port=", "port"), "");
  EXPECT_EQ(query_value("port=a&port=b", "port"), "a");
  EXPECT_EQ(query_value("port=a%20b", "port"), "a%20b");  // exact bytes
  EXPECT_EQ(query_value("ports=vm0", "port"), std::nullopt);
  EXPECT_EQ(query_value("xport=vm0", "port"), std::nullopt);
  EXPECT_EQ(query_value("", "port"), std::nullopt);
  EXPECT_EQ(query_value("a=port", "port"), std::nullopt);
}

TEST(HttpRequestTest, OnlyHttp1) {
  EXPECT_EQ(status_of("GET /vm HTTP/2.0\r\n\r\n"), S::unsupported_version);
  EXPECT_EQ(status_of("GET /vm HTTP/0.9\r\n\r\n"), S::unsupported_version);
  EXPECT_EQ(http_status(S::unsupported_version), 505);
}

TEST(HttpRequestTest, MalformedHeaders) {
  for (const char* head : {
           "GET /vm HTTP/1.1\r\nHost localhost\r\n\r\n",   // no colon
           "GET /vm HTTP/1.1\r\n: value\r\n\r\n",          // empty name
           "GET /vm HTTP/1.1\r\nHost : x\r\n\r\n",         // space before the colon
           "GET /vm HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",  // obsolete line folding
           "GET /vm HTTP/1.1\r\nA: b\nC: d\r\n\r\n",       // bare LF
           "GET /vm HTTP/1.1\r\nA: b\r\n\n",               // bare LF ending the head
           "GET /vm HTTP/1.1\r\nA: b\rc\r\n\r\n",          // CR inside a value
           "GET /vm HTTP/1.1\r\nA: \x7f\r\n\r\n",          // DEL
       }) {
    EXPECT_EQ(status_of(head), S::malformed_header) << head;
  }
  // Obsolete text (bytes >= 0x80) and tabs are allowed in values.
  EXPECT_EQ(status_of("GET /vm HTTP/1.1\r\nUser-Agent: caf\xc3\xa9\tx\r\n\r\n"), S::complete);
}

TEST(HttpRequestTest, ContentLength) {
  EXPECT_EQ(status_of("PUT /a HTTP/1.1\r\nContent-Length: -1\r\n\r\n"), S::bad_content_length);
  EXPECT_EQ(status_of("PUT /a HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n"), S::bad_content_length);
  EXPECT_EQ(status_of("PUT /a HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n"), S::bad_content_length);
  EXPECT_EQ(status_of("PUT /a HTTP/1.1\r\nContent-Length:\r\n\r\n"), S::bad_content_length);
  EXPECT_EQ(status_of("PUT /a HTTP/1.1\r\nContent-Length: +5\r\n\r\n"), S::bad_content_length);
  EXPECT_EQ(status_of("PUT /a HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx"),
            S::bad_content_length);
  EXPECT_EQ(status_of("PUT /a HTTP/1.1\r\nContent-Length: 65537\r\n\r\n"), S::body_too_large);
  EXPECT_EQ(status_of("PUT /a HTTP/1.1\r\nContent-Length: 99999999999999999999999999\r\n\r\n"),
            S::body_too_large);
  EXPECT_EQ(http_status(S::body_too_large), 413);
  // Refused as soon as the header line is complete, before the body (or the head) ends.
  EXPECT_EQ(status_of("PUT /a HTTP/1.1\r\nContent-Length: 1000000\r\n"), S::body_too_large);
  // Leading zeros are still a number; exactly the limit is fine.
  EXPECT_EQ(status_of("PUT /a HTTP/1.1\r\nContent-Length: 0003\r\n\r\nabc"), S::complete);
  std::string body(kMaxHttpBody, 'x');
  EXPECT_EQ(status_of("PUT /a HTTP/1.1\r\nContent-Length: 65536\r\n\r\n" + body), S::complete);
  EXPECT_EQ(status_of("PUT /a HTTP/1.1\r\nContent-Length: 65536\r\n\r\n" + body.substr(1)),
            S::incomplete);
}

TEST(HttpRequestTest, TransferEncodingIsRefused) {
  EXPECT_EQ(status_of("PUT /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            S::unsupported_transfer_encoding);
  EXPECT_EQ(http_status(S::unsupported_transfer_encoding), 400);
}

TEST(HttpRequestTest, HeadLimits) {
  // A request line that does not end within the limit.
  std::string long_line = "GET /" + std::string(kMaxHttpHead, 'a');
  EXPECT_EQ(status_of(long_line), S::head_too_large);
  EXPECT_EQ(status_of(long_line.substr(0, kMaxHttpHead - 1)), S::incomplete);
  // Headers whose blank line would end past the limit.
  std::string head = "GET /vm HTTP/1.1\r\nX: " + std::string(kMaxHttpHead, 'b') + "\r\n\r\n";
  EXPECT_EQ(status_of(head), S::head_too_large);
  // A head of exactly the limit is fine.
  std::string start = "GET /vm HTTP/1.1\r\nX: ";
  std::string exact = start + std::string(kMaxHttpHead - start.size() - 4, 'c') + "\r\n\r\n";
  ASSERT_EQ(exact.size(), kMaxHttpHead);
  EXPECT_EQ(status_of(exact), S::complete);
  EXPECT_EQ(status_of(exact.substr(0, kMaxHttpHead - 1) + "\n!"), S::complete);
  // Too many headers.
  std::string many = "GET /vm HTTP/1.1\r\n";
  for (size_t i = 0; i < kMaxHttpHeaders; ++i) many += "A: b\r\n";
  EXPECT_EQ(status_of(many + "\r\n"), S::complete);
  EXPECT_EQ(status_of(many + "A: b\r\n\r\n"), S::head_too_large);
  EXPECT_EQ(http_status(S::head_too_large), 431);
}

TEST(HttpRequestTest, EveryErrorHasAMessageAndAnErrorStatus) {
  for (S s : {S::malformed_request_line, S::unsupported_method, S::unsupported_version,
              S::malformed_header, S::head_too_large, S::bad_content_length, S::body_too_large,
              S::unsupported_transfer_encoding}) {
    EXPECT_GE(http_status(s), 400);
    EXPECT_GT(std::string(describe(s)).size(), 10u);
  }
}

TEST(HttpRequestTest, EmbeddedNulIsNotTheEnd) {
  constexpr char kText[] = "GET /vm HTTP/1.1\r\nA: b\0c\r\n\r\n";
  std::string text(kText, sizeof(kText) - 1);
  EXPECT_EQ(status_of(text), S::malformed_header);
}

}  // namespace
}  // namespace ringlane::http
