#include "ringlane/vfio/host_routes.h"

#include <arpa/inet.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <sstream>

namespace ringlane::vfio {
namespace {

constexpr unsigned kRouteUp = 0x1;  // RTF_UP

bool listed(const std::vector<std::string>& interfaces, const std::string& name) {
  return std::find(interfaces.begin(), interfaces.end(), name) != interfaces.end();
}

// /proc/net/route: "Iface Destination Gateway Flags RefCnt Use Metric Mask ...", addresses as
// host-order hex of the network-order value.
void add_ipv4_routes(const std::string& table, const std::vector<std::string>& interfaces,
                     std::vector<HostRoute>& routes) {
  std::istringstream lines(table);
  std::string line;
  std::getline(lines, line);  // the header
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string iface, destination, gateway, flags, refcnt, use, metric, mask;
    if (!(fields >> iface >> destination >> gateway >> flags >> refcnt >> use >> metric >> mask)) {
      continue;
    }
    if (!listed(interfaces, iface)) continue;
    if ((std::strtoul(flags.c_str(), nullptr, 16) & kRouteUp) == 0) continue;
    auto dest = static_cast<uint32_t>(std::strtoul(destination.c_str(), nullptr, 16));
    auto netmask = static_cast<uint32_t>(std::strtoul(mask.c_str(), nullptr, 16));
    if (dest == 0 && netmask == 0) {
      routes.push_back({iface, "default"});
      continue;
    }
    char text[INET_ADDRSTRLEN] = {};
    in_addr a{dest};
    ::inet_ntop(AF_INET, &a, text, sizeof(text));
    routes.push_back({iface, std::string(text) + "/" + std::to_string(std::popcount(netmask))});
  }
}

// /proc/net/ipv6_route: "dest dest_len src src_len next_hop metric refcnt use flags iface";
// only default routes count: every IPv6 interface has link-local ones.
void add_ipv6_default_routes(const std::string& table, const std::vector<std::string>& interfaces,
                             std::vector<HostRoute>& routes) {
  std::istringstream lines(table);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string dest, dest_len, src, src_len, next_hop, metric, refcnt, use, flags, iface;
    if (!(fields >> dest >> dest_len >> src >> src_len >> next_hop >> metric >> refcnt >> use >>
          flags >> iface)) {
      continue;
    }
    if (!listed(interfaces, iface) || dest_len != "00") continue;
    if ((std::strtoul(flags.c_str(), nullptr, 16) & kRouteUp) == 0) continue;
    if (dest != std::string(32, '0')) continue;
    routes.push_back({iface, "::/0"});
  }
}

}  // namespace

Result<std::vector<HostRoute>> routes_through(KernelFiles& files,
                                              const std::vector<std::string>& interfaces) {
  std::vector<HostRoute> routes;
  if (interfaces.empty()) return routes;
  Result<std::string> ipv4 = files.read("proc/net/route");
  if (!ipv4.ok()) return ipv4.error();
  add_ipv4_routes(*ipv4, interfaces, routes);
  // A kernel without IPv6 has no table: nothing to add.
  if (Result<std::string> ipv6 = files.read("proc/net/ipv6_route"); ipv6.ok()) {
    add_ipv6_default_routes(*ipv6, interfaces, routes);
  }
  return routes;
}

}  // namespace ringlane::vfio
