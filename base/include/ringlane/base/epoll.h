// Epoll: a thin owner of an epoll instance for control-plane event loops (never the data path).
#pragma once

#include <sys/epoll.h>

#include <cstdint>
#include <span>

#include "ringlane/base/result.h"
#include "ringlane/base/unique_fd.h"

namespace ringlane {

class Epoll {
 public:
  static Result<Epoll> create();

  Status add(int fd, uint32_t events, uint64_t token);
  Status modify(int fd, uint32_t events, uint64_t token);
  void remove(int fd);
  // Waits up to timeout_ms (-1 forever); returns the number of events written to `out`.
  Result<int> wait(std::span<epoll_event> out, int timeout_ms);

 private:
  explicit Epoll(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace ringlane
