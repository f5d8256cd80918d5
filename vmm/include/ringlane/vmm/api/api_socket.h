// ApiSocket: carries VmApi over HTTP/1.1 on a Unix socket, one request per connection, on a
// thread of its own. Deliberately small: parse_http_request's limits (8 KiB of request line and
// headers, a Content-Length body of at most 64 KiB) and a 5 s budget per request; requests it
// refuses get a JSON error and count in VmApi's bad requests. The control module's general API
// server replaces it once it exists.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "ringlane/base/event_fd.h"
#include "ringlane/base/result.h"
#include "ringlane/base/unique_fd.h"
#include "ringlane/vmm/api/vm_api.h"

namespace ringlane::vmm {

class ApiSocket {
 public:
  static Result<std::unique_ptr<ApiSocket>> start(const std::string& path, VmApi& api);
  ~ApiSocket();

 private:
  ApiSocket(std::string path, UniqueFd listen, EventFd stop, VmApi& api)
      : path_(std::move(path)), listen_(std::move(listen)), stop_(std::move(stop)), api_(api) {}
  void serve();
  void handle(int fd);

  std::string path_;
  UniqueFd listen_;
  EventFd stop_;
  VmApi& api_;
  std::thread thread_;
};

}  // namespace ringlane::vmm
