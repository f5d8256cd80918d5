#include "ringlane/ctl/api_call.h"

#include <cerrno>
#include <iostream>

#include "ringlane/base/program.h"
#include "ringlane/http/http_client.h"

namespace ringlane::ctl {

namespace {

using nlohmann::json;

std::string refusal_message(const json& answer, const std::string& raw) {
  for (const char* key : {"error", "fault_message"}) {
    if (answer.is_object() && answer.contains(key) && answer[key].is_string()) {
      return answer[key].get<std::string>();
    }
  }
  return raw;
}

}  // namespace

ApiOutcome call_api(const ApiEndpoint& api, std::string_view method, const std::string& path,
                    const std::string& body) {
  ApiOutcome out;
  Result<http::ApiResponse> r = http::api_request(api.socket_path, method, path, body, api.timeout);
  if (!r.ok()) {
    const Error& e = r.error();
    // Timeouts and protocol errors say it all; for the rest the errno is the news.
    bool plain = e.code() == ETIMEDOUT || e.code() == EPROTO;
    out.exit_status = kExitNoAnswer;
    out.message = plain ? e.message() : e.to_string();
    return out;
  }
  out.http_status = r->status;
  out.raw = std::move(r->body);
  out.body = json::parse(out.raw, nullptr, false);
  if (out.http_status >= 400) {
    out.exit_status = kExitFailure;
    out.message =
        refusal_message(out.body, out.raw) + " (HTTP " + std::to_string(out.http_status) + ")";
  } else if (out.body.is_discarded()) {
    out.exit_status = kExitNoAnswer;
    out.message = "API at " + api.socket_path +
                  " answered with something not JSON: " + out.raw.substr(0, 200);
  }
  return out;
}

int ask_and_print(const ApiEndpoint& api, bool raw, std::string_view method,
                  const std::string& path, const std::string& body,
                  std::string (*view)(const json&)) {
  ApiOutcome r = call_api(api, method, path, body);
  if (r.exit_status != 0) return report_failure("ringlane-ctl", r.message, r.exit_status);
  if (raw) {
    std::cout << r.raw << "\n";
  } else {
    std::cout << view(r.body);
  }
  return kExitDone;
}

std::string path_segment(std::string_view name) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : name) {
    auto byte = static_cast<unsigned char>(c);
    bool plain = (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z') ||
                 (byte >= '0' && byte <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (plain) {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    }
  }
  return out;
}

}  // namespace ringlane::ctl
