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
  // Errors say what to mend: a name the kernel would refuse, no /dev/net/tun, no permission
  // (CAP_NET_ADMIN), a device of that name that is not a TAP or is held by another process.
  static Result<TapDevice> open(const std::string& name, TapOptions options = {});
  // Any descriptor that moves one whole frame per read or write (non-blocking), named `name`:
  // unit tests use one end of a SOCK_SEQPACKET socket pair in place of a TAP device, with
  // `options` saying what the frames carry.
  static TapDevice adopt(UniqueFd fd, std::string name, TapOptions options = {}) {
    return TapDevice(std::move(fd), std::move(name), options);
  }
  // Why the kernel would refuse `name` as an interface name, or empty when it would not.
  static std::string check_name(const std::string& name);
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
