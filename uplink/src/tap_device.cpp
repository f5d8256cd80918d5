#include "ringlane/uplink/tap_device.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstring>

namespace ringlane::uplink {

Result<TapDevice> TapDevice::open(const std::string& name, TapOptions options) {
  if (name.empty() || name.size() >= IFNAMSIZ) {
    return Error(EINVAL, "TAP device name must be 1-15 characters: '" + name + "'");
  }
  UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return errno_error("open /dev/net/tun");
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  if (options.vnet_header) ifr.ifr_flags |= IFF_VNET_HDR;
  if (ioctl(fd.get(), TUNSETIFF, &ifr) < 0) return errno_error("TUNSETIFF " + name);
  if (options.vnet_header) {
    int size = 12;  // virtio_net_hdr_v1: num_buffers included, as VERSION_1 has it
    if (ioctl(fd.get(), TUNSETVNETHDRSZ, &size) < 0) return errno_error("TUNSETVNETHDRSZ " + name);
    unsigned offloads = options.offloads ? TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 : 0;
    if (ioctl(fd.get(), TUNSETOFFLOAD, offloads) < 0) return errno_error("TUNSETOFFLOAD " + name);
  } else {
    options.offloads = false;
  }
  // Up, so frames flow without the caller running `ip link set up`.
  UniqueFd sock(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) return errno_error("socket for " + name);
  ifreq up{};
  std::strncpy(up.ifr_name, ifr.ifr_name, IFNAMSIZ - 1);
  if (ioctl(sock.get(), SIOCGIFFLAGS, &up) < 0) return errno_error("SIOCGIFFLAGS " + name);
  up.ifr_flags = static_cast<short>(up.ifr_flags | IFF_UP);
  if (ioctl(sock.get(), SIOCSIFFLAGS, &up) < 0) return errno_error("SIOCSIFFLAGS " + name);
  return TapDevice(std::move(fd), ifr.ifr_name, options);
}

}  // namespace ringlane::uplink
