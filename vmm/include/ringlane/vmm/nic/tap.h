// Tap: a TAP network device (/dev/net/tun, IFF_TAP | IFF_NO_PI), non-blocking: whole Ethernet
// frames in and out, one per read or write.
#pragma once

#include <string>

#include "ringlane/base/result.h"
#include "ringlane/base/unique_fd.h"

namespace ringlane::vmm {

class Tap {
 public:
  // Creates (or attaches to) the TAP device `name` in this network namespace and brings it up.
  static Result<Tap> open(const std::string& name);
  // Any descriptor that moves one whole frame per read or write (non-blocking), named `name`:
  // unit tests use one end of a SOCK_SEQPACKET socket pair in place of a TAP device.
  static Tap adopt(UniqueFd fd, std::string name) { return Tap(std::move(fd), std::move(name)); }
  int fd() const { return fd_.get(); }
  const std::string& name() const { return name_; }

 private:
  Tap(UniqueFd fd, std::string name) : fd_(std::move(fd)), name_(std::move(name)) {}
  UniqueFd fd_;
  std::string name_;
};

}  // namespace ringlane::vmm
