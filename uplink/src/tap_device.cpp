#include "ringlane/uplink/tap_device.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cctype>
#include <cstring>

namespace ringlane::uplink {

std::string TapDevice::check_name(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ) {
    return "TAP device name must be 1-15 characters: '" + name + "'";
  }
  // The kernel's dev_valid_name: no '.' or '..', no '/', ':' or white space.
  if (name == "." || name == "..") return "'" + name + "' cannot name an interface";
  for (char c : name) {
    if (c == '/' || c == ':' || std::isspace(static_cast<unsigned char>(c)) != 0 ||
        std::iscntrl(static_cast<unsigned char>(c)) != 0) {
      return "TAP device name '" + name + "' holds a character interface names cannot have";
    }
  }
  return {};
}

Result<TapDevice> TapDevice::open(const std::string& name, TapOptions options) {
  if (std::string why = check_name(name); !why.empty()) return Error(EINVAL, why);
  UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!fd) {
    int e = errno;
    if (e == ENOENT || e == ENODEV || e == ENXIO) {
      return Error(e, "no /dev/net/tun: the kernel's tun module is not loaded (modprobe tun)");
    }
    if (e == EACCES || e == EPERM) {
      return Error(e, "cannot open /dev/net/tun: permission denied (TAP devices need root)");
    }
    errno = e;
    return errno_error("open /dev/net/tun");
  }
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  if (options.vnet_header) ifr.ifr_flags |= IFF_VNET_HDR;
  if (ioctl(fd.get(), TUNSETIFF, &ifr) < 0) {
    int e = errno;
    if (e == EPERM || e == EACCES) {
      return Error(e, "creating TAP device " + name +
                          " is not permitted: it needs CAP_NET_ADMIN (root), or a persistent TAP "
                          "owned by this user");
    }
    if (e == EBUSY) {
      return Error(e, "TAP device " + name + " is in use by another process");
    }
    if (e == EINVAL) {
      return Error(e, "cannot make a TAP device named " + name +
                          ": an interface of that name exists and is not a TAP device, or the "
                          "name is refused");
    }
    errno = e;
    return errno_error("TUNSETIFF " + name);
  }
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
