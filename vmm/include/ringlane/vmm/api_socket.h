// ApiSocket: carries VmApi over HTTP/1.1 on a Unix socket, one request per connection, on a
// thread of its own. Deliberately small (request line, Content-Length, body of at most 64 KiB,
// a 5 s budget per request); the control module's general API server replaces it once it exists.
#pragma once

#include <atomic>
#include <string>
#include <thread>

#include "ringlane/base/event_fd.h"
#include "ringlane/base/result.h"
#include "ringlane/base/unique_fd.h"
#include "ringlane/vmm/vm_api.h"

namespace ringlane::vmm {

class ApiSocket {
 public:
  static Result<std::unique_ptr<ApiSocket>> start(const std::string& path, const VmApi& api);
  ~ApiSocket();

  uint64_t requests() const { return requests_.load(std::memory_order_relaxed); }
  uint64_t bad_requests() const { return bad_requests_.load(std::memory_order_relaxed); }

 private:
  ApiSocket(std::string path, UniqueFd listen, EventFd stop, const VmApi& api)
      : path_(std::move(path)), listen_(std::move(listen)), stop_(std::move(stop)), api_(api) {}
  void serve();
  void handle(int fd);
  ApiAnswer route(const std::string& method, const std::string& path, const std::string& body);

  std::string path_;
  UniqueFd listen_;
  EventFd stop_;
  const VmApi& api_;
  std::thread thread_;
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> bad_requests_{0};
};

}  // namespace ringlane::vmm
