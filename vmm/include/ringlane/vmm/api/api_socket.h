// ApiSocket: carries VmApi over HTTP/1.1 on a Unix socket (mode 0600), on a thread of its own
// that runs an EventLoop with the http module's HttpServer: one request per connection, the
// parser's limits (8 KiB of request line and headers, a Content-Length body of at most 64 KiB)
// and a 5 s budget per request; requests the server refuses get a JSON error through
// VmApi::refuse and count in VmApi's bad requests.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "ringlane/base/event_fd.h"
#include "ringlane/base/event_loop.h"
#include "ringlane/base/result.h"
#include "ringlane/http/http_server.h"
#include "ringlane/vmm/api/vm_api.h"

namespace ringlane::vmm {

class ApiSocket {
 public:
  // Listens on `path` (a stale socket file is replaced, a live one is EADDRINUSE) and starts
  // serving on the thread.
  static Result<std::unique_ptr<ApiSocket>> start(const std::string& path, VmApi& api);
  // Stops the thread, closes every connection and removes the socket file.
  ~ApiSocket();
  ApiSocket(const ApiSocket&) = delete;
  ApiSocket& operator=(const ApiSocket&) = delete;

 private:
  ApiSocket(std::unique_ptr<EventLoop> loop, EventFd stop)
      : loop_(std::move(loop)), stop_(std::move(stop)) {}
  void serve();

  // Declared in this order so the server goes before the loop it is watched by.
  std::unique_ptr<EventLoop> loop_;
  EventFd stop_;
  std::unique_ptr<http::HttpServer> server_;
  bool stopping_ = false;  // the serving thread's only
  std::thread thread_;
};

}  // namespace ringlane::vmm
