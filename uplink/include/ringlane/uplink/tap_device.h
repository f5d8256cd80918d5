// TapDevice: a kernel TAP network device (/dev/net/tun, IFF_TAP | IFF_NO_PI), non-blocking:
// whole Ethernet frames in and out, one per read or write. With a virtio-net header
// (IFF_VNET_HDR) each frame is preceded by one, so checksum and segmentation offloads pass
// between the host stack and virtio without being done in software.
#pragma once

#include <cstdint>
#include <string>

#include "ringlane/base/result.h"
#include "ringlane/base/unique_fd.h"

namespace ringlane::uplink {

struct TapOptions {
  // Frames carry a struct virtio_net_hdr_v1 (12 bytes) in front (TUNSETVNETHDRSZ).
  bool vnet_header = false;
  // The kernel may hand over frames with partial checksums and GSO (TUNSETOFFLOAD
  // TUN_F_CSUM|TSO4|TSO6); only with vnet_header.
  bool offloads = false;
};

class TapDevice {
 public:
  // Creates (or attaches to) the TAP device `name` in this network namespace and brings it up.
  static Result<TapDevice> open(const std::string& name, TapOptions options = {});
  // Any descriptor that moves one whole frame per read or write (non-blocking), named `name`:
  // unit tests use one end of a SOCK_SEQPACKET socket pair in place of a TAP device.
  static TapDevice adopt(UniqueFd fd, std::string name) {
    return TapDevice(std::move(fd), std::move(name), {});
  }
  int fd() const { return fd_.get(); }
  const std::string& name() const { return name_; }
  const TapOptions& options() const { return options_; }

 private:
  TapDevice(UniqueFd fd, std::string name, TapOptions options)
      : fd_(std::move(fd)), name_(std::move(name)), options_(options) {}
  UniqueFd fd_;
  std::string name_;
  TapOptions options_;
};

}  // namespace ringlane::uplink
