#include "ringlane/uplink/net_interface.h"

#include <dirent.h>
#include <linux/capability.h>
#include <linux/ethtool.h>
#include <linux/if.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "ringlane/base/unique_fd.h"

#ifndef AF_XDP
#define AF_XDP 44
#endif

namespace ringlane::uplink {

namespace {

ifreq request_for(const std::string& name) {
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  return ifr;
}

uint32_t count_rx_queues(const std::string& name) {
  std::string path = "/sys/class/net/" + name + "/queues";
  DIR* dir = opendir(path.c_str());
  if (dir == nullptr) return 1;
  uint32_t n = 0;
  while (dirent* e = readdir(dir)) {
    if (std::strncmp(e->d_name, "rx-", 3) == 0) ++n;
  }
  closedir(dir);
  return n == 0 ? 1 : n;
}

}  // namespace

Result<InterfaceInfo> inspect_interface(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ) {
    return Error(EINVAL, "interface name must be 1-15 characters: '" + name + "'");
  }
  UniqueFd sock(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) return errno_error("socket for interface requests");
  InterfaceInfo info;
  info.name = name;
  ifreq ifr = request_for(name);
  if (ioctl(sock.get(), SIOCGIFINDEX, &ifr) < 0) {
    if (errno == ENODEV) {
      return Error(ENODEV, "interface '" + name + "' does not exist (in this network namespace)");
    }
    return errno_error("interface '" + name + "'");
  }
  info.ifindex = ifr.ifr_ifindex;
  ifr = request_for(name);
  if (ioctl(sock.get(), SIOCGIFFLAGS, &ifr) < 0) return errno_error("flags of '" + name + "'");
  info.up = (ifr.ifr_flags & IFF_UP) != 0;
  info.running = (ifr.ifr_flags & IFF_RUNNING) != 0;
  ifr = request_for(name);
  if (ioctl(sock.get(), SIOCGIFHWADDR, &ifr) < 0) return errno_error("address of '" + name + "'");
  for (int i = 0; i < 6; ++i) {
    info.mac = info.mac << 8 | static_cast<uint8_t>(ifr.ifr_hwaddr.sa_data[i]);
  }
  ifr = request_for(name);
  if (ioctl(sock.get(), SIOCGIFMTU, &ifr) < 0) return errno_error("MTU of '" + name + "'");
  info.mtu = static_cast<uint32_t>(ifr.ifr_mtu);
  info.rx_queues = count_rx_queues(name);
  ethtool_drvinfo drv{};
  drv.cmd = ETHTOOL_GDRVINFO;
  ifr = request_for(name);
  ifr.ifr_data = reinterpret_cast<char*>(&drv);
  if (ioctl(sock.get(), SIOCETHTOOL, &ifr) == 0) {
    info.driver.assign(drv.driver, strnlen(drv.driver, sizeof(drv.driver)));
  }
  return info;
}

bool interface_running(const std::string& name) {
  UniqueFd sock(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) return false;
  ifreq ifr = request_for(name);
  if (ioctl(sock.get(), SIOCGIFFLAGS, &ifr) < 0) return false;
  return (ifr.ifr_flags & IFF_RUNNING) != 0;
}

Status check_xdp_permissions() {
  __user_cap_header_struct header{};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &header, data) < 0) return errno_error("capget");
  auto has = [&](int cap) { return (data[cap / 32].effective & (1u << (cap % 32))) != 0; };
  std::vector<std::string> missing;
  if (!has(CAP_NET_ADMIN)) missing.emplace_back("CAP_NET_ADMIN");
  if (!has(CAP_NET_RAW)) missing.emplace_back("CAP_NET_RAW");
  if (!has(CAP_BPF) && !has(CAP_SYS_ADMIN)) missing.emplace_back("CAP_BPF");
  if (missing.empty()) return {};
  std::string list;
  for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
  return Error(EPERM,
               "no permission: AF_XDP uplinks need root (CAP_NET_ADMIN, CAP_NET_RAW and "
               "CAP_BPF or CAP_SYS_ADMIN); this process lacks " +
                   list);
}

Status check_af_xdp_sockets() {
  UniqueFd probe(socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0));
  if (probe) return {};
  int e = errno;
  if (e == EAFNOSUPPORT) {
    return Error(e, "this kernel has no AF_XDP sockets (CONFIG_XDP_SOCKETS)");
  }
  if (e == EPERM || e == EACCES) {
    return Error(e, "no permission to open an AF_XDP socket (it needs CAP_NET_RAW)");
  }
  errno = e;
  return errno_error("AF_XDP socket");
}

}  // namespace ringlane::uplink
