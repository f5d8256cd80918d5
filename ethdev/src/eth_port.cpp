#include "ringlane/ethdev/eth_port.h"

#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_ether.h>

#include <algorithm>
#include <cstring>

#include "ringlane/base/log.h"
#include "ringlane/ethdev/eal.h"

namespace ringlane::ethdev {

namespace {

// Each thread's mempool cache; DPDK's recommended size divides the pool evenly.
constexpr unsigned kMempoolCache = 256;
// mbufs a thread may hold outside the pool and the rings at once: a received burst, a transmit
// burst's spares, and up to 64 frames (a packet segmented in software makes many) waiting to be
// handed to the NIC, one of them a chain of up to 32 mbufs.
constexpr unsigned kMbufsInFlightPerThread = 256;
// The transmit offloads ringlane uses, when the device has them.
constexpr uint64_t kWantedTxOffloads =
    RTE_ETH_TX_OFFLOAD_MULTI_SEGS | RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM |
    RTE_ETH_TX_OFFLOAD_UDP_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_TSO | RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
constexpr uint64_t kWantedRss = RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP;

// rte_* calls return -errno (a bare -1 says only "failed"); the reason DPDK logged, when it
// logged one, goes with it.
Error dpdk_error(DpdkErrors& errors, int rc, const std::string& what) {
  std::string why = errors.take();
  int code = rc == -1 ? EINVAL : (rc < 0 ? -rc : rc);
  return Error(code, what + (why.empty() ? "" : " (dpdk: " + why + ")"));
}

unsigned round_up_pow2_minus1(unsigned n) {
  unsigned p = 1;
  while (p - 1 < n) p <<= 1;
  return p - 1;  // a ring holds 2^k - 1 elements: the pool's best size
}

}  // namespace

Result<std::unique_ptr<EthPort>> EthPort::open(const EthPortConfig& config) {
  if (!eal_started()) return Error(EINVAL, "DPDK's EAL is not started");
  DpdkErrors errors;  // what DPDK logs from here on explains this port's refusal
  std::vector<bool> existed(RTE_MAX_ETHPORTS, false);
  uint16_t id;
  RTE_ETH_FOREACH_DEV(id) {
    existed[id] = true;
  }
  if (int rc = rte_dev_probe(config.devargs.c_str()); rc != 0) {
    if (rc == -EEXIST) {
      return Error(EBUSY, "the device of devargs '" + config.devargs +
                              "' is already in use in this ringlane");
    }
    // -EFAULT is what DPDK answers when no bus knows the device's name.
    return dpdk_error(errors, rc == -EFAULT ? -EINVAL : rc,
                      "DPDK refused devargs '" + config.devargs + "'");
  }
  // The device's port is the one that was not there before the probe (the first, should the
  // device have several).
  std::unique_ptr<EthPort> port(new EthPort());
  RTE_ETH_FOREACH_DEV(id) {
    if (!existed[id]) {
      port->port_id_ = id;
      break;
    }
  }
  if (port->port_id_ == RTE_MAX_ETHPORTS) {
    return Error(ENODEV, "devargs '" + config.devargs +
                             "' probed a device but no driver made an Ethernet port of it");
  }
  if (Status s = port->configure(config, errors); !s.ok()) return s.error();
  return port;
}

Status EthPort::configure(const EthPortConfig& config, DpdkErrors& errors) {
  rte_eth_dev_info info{};
  if (int rc = rte_eth_dev_info_get(port_id_, &info); rc != 0) {
    return dpdk_error(errors, rc, "rte_eth_dev_info_get");
  }
  device_ = info.device;
  driver_ = info.driver_name != nullptr ? info.driver_name : "?";
  device_name_ = device_ != nullptr ? rte_dev_name(device_) : "?";
  rte_ether_addr addr{};
  if (rte_eth_macaddr_get(port_id_, &addr) == 0) {
    char text[RTE_ETHER_ADDR_FMT_SIZE];
    rte_ether_format_addr(text, sizeof(text), &addr);
    mac_ = text;
  }
  if (config.queues > info.max_rx_queues || config.queues > info.max_tx_queues) {
    return Error(EINVAL, "queues=" + std::to_string(config.queues) + " but " + driver_ +
                             " device " + device_name_ + " offers " +
                             std::to_string(info.max_rx_queues) + " RX and " +
                             std::to_string(info.max_tx_queues) + " TX queues" +
                             (driver_ == "net_af_packet" ? " (its devargs take qpairs=N)" : ""));
  }
  queues_ = config.queues;

  rte_eth_conf conf{};
  uint64_t tx = kWantedTxOffloads & info.tx_offload_capa;
  // Fast free needs every mbuf from one pool with one reference: true of the frames ringlane
  // builds, which are all copies into this port's pool.
  conf.txmode.offloads = tx;
  tx_offloads_.ipv4_checksum = (tx & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) != 0;
  tx_offloads_.tcp_checksum = (tx & RTE_ETH_TX_OFFLOAD_TCP_CKSUM) != 0;
  tx_offloads_.udp_checksum = (tx & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) != 0;
  tx_offloads_.tcp_segmentation = (tx & RTE_ETH_TX_OFFLOAD_TCP_TSO) != 0;
  tx_offloads_.multi_segment = (tx & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) != 0;
  uint64_t rss = kWantedRss & info.flow_type_rss_offloads;
  if (queues_ > 1 && rss != 0) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf = rss;
    rss_ = true;
  }
  if (int rc = rte_eth_dev_configure(port_id_, queues_, queues_, &conf); rc != 0) {
    return dpdk_error(errors, rc,
                      "rte_eth_dev_configure of " + driver_ + " device " + device_name_);
  }

  uint16_t mtu = RTE_ETHER_MTU;
  if (rte_eth_dev_get_mtu(port_id_, &mtu) != 0) mtu = RTE_ETHER_MTU;
  max_frame_ = uint32_t{mtu} + RTE_ETHER_HDR_LEN + 2 * RTE_VLAN_HLEN;
  // One mbuf holds the longest frame: the receive side never needs scattered buffers and the
  // software segmentation path writes each frame into one mbuf.
  uint32_t room = std::max<uint32_t>(RTE_MBUF_DEFAULT_DATAROOM, (max_frame_ + 63) & ~63U);
  if (room + RTE_PKTMBUF_HEADROOM > UINT16_MAX) {
    return Error(EINVAL, "MTU " + std::to_string(mtu) + " is too large for one mbuf");
  }
  segment_room_ = static_cast<uint16_t>(room);
  tx_offloads_.max_segment_frame = driver_ == "net_tap" ? mtu : max_frame_;

  uint16_t rxd = config.rx_descriptors, txd = config.tx_descriptors;
  if (int rc = rte_eth_dev_adjust_nb_rx_tx_desc(port_id_, &rxd, &txd); rc != 0) {
    return dpdk_error(errors, rc, "rte_eth_dev_adjust_nb_rx_tx_desc");
  }
  int socket = rte_eth_dev_socket_id(port_id_);
  if (socket < 0) socket = SOCKET_ID_ANY;
  unsigned mbufs = round_up_pow2_minus1(
      queues_ * (unsigned{rxd} + txd) +
      config.threads * (kMempoolCache * 3 / 2 + kMbufsInFlightPerThread) + 1024);
  std::string pool_name = "rl-mbuf-" + std::to_string(port_id_);
  pool_ = rte_pktmbuf_pool_create(pool_name.c_str(), mbufs, kMempoolCache, 0,
                                  static_cast<uint16_t>(room + RTE_PKTMBUF_HEADROOM), socket);
  if (pool_ == nullptr) {
    return dpdk_error(errors, -rte_errno,
                      "no memory for " + std::to_string(mbufs) + " mbufs of " +
                          std::to_string(room) + " bytes (give DPDK more: --dpdk-memory)");
  }
  rte_eth_txconf txconf = info.default_txconf;
  txconf.offloads = conf.txmode.offloads;
  for (uint16_t q = 0; q < queues_; ++q) {
    if (int rc =
            rte_eth_rx_queue_setup(port_id_, q, rxd, static_cast<unsigned>(socket), nullptr, pool_);
        rc != 0) {
      return dpdk_error(errors, rc, "rte_eth_rx_queue_setup of queue " + std::to_string(q));
    }
    if (int rc = rte_eth_tx_queue_setup(port_id_, q, txd, static_cast<unsigned>(socket), &txconf);
        rc != 0) {
      return dpdk_error(errors, rc, "rte_eth_tx_queue_setup of queue " + std::to_string(q));
    }
  }
  // An uplink carries frames for the VMs' addresses, not the NIC's own.
  if (int rc = rte_eth_promiscuous_enable(port_id_); rc != 0) {
    log_line(LogLevel::warn, config.name + ": " + driver_ + " device " + device_name_ +
                                 " cannot be made promiscuous (" + std::strerror(-rc) +
                                 "): it receives only frames for " + mac_ + " and broadcasts");
  }
  if (int rc = rte_eth_dev_start(port_id_); rc != 0) {
    return dpdk_error(errors, rc, "rte_eth_dev_start of " + driver_ + " device " + device_name_);
  }
  started_ = true;
  return {};
}

EthPort::~EthPort() {
  if (port_id_ == RTE_MAX_ETHPORTS) return;
  if (started_) {
    if (int rc = rte_eth_dev_stop(port_id_); rc != 0) {
      log_line(LogLevel::warn, "dpdk port " + device_name_ + ": stop: " + std::strerror(-rc));
    }
  }
  rte_device* device = device_;
  if (int rc = rte_eth_dev_close(port_id_); rc != 0) {
    log_line(LogLevel::warn, "dpdk port " + device_name_ + ": close: " + std::strerror(-rc));
  }
  // The device goes too once none of its ports is left (a NIC may have several).
  if (device != nullptr && rte_eth_find_next_of(0, device) == RTE_MAX_ETHPORTS) {
    if (int rc = rte_dev_remove(device); rc != 0) {
      log_line(LogLevel::warn, "dpdk device " + device_name_ + ": remove: " + std::strerror(-rc));
    }
  }
  // After close: the driver gave back the mbufs its rings held.
  rte_mempool_free(pool_);
}

LinkState EthPort::link() const {
  rte_eth_link l{};
  LinkState state;
  if (rte_eth_link_get_nowait(port_id_, &l) != 0) return state;
  state.up = l.link_status == RTE_ETH_LINK_UP;
  state.speed_mbps = l.link_speed == RTE_ETH_SPEED_NUM_UNKNOWN ? 0 : l.link_speed;
  state.full_duplex = l.link_duplex == RTE_ETH_LINK_FULL_DUPLEX;
  return state;
}

EthStats EthPort::stats() const {
  rte_eth_stats s{};
  EthStats out;
  if (rte_eth_stats_get(port_id_, &s) != 0) return out;
  out.rx_packets = s.ipackets;
  out.rx_bytes = s.ibytes;
  out.tx_packets = s.opackets;
  out.tx_bytes = s.obytes;
  out.rx_missed = s.imissed;
  out.rx_errors = s.ierrors;
  out.tx_errors = s.oerrors;
  out.rx_nombuf = s.rx_nombuf;
  return out;
}

std::vector<std::pair<std::string, uint64_t>> EthPort::xstats() const {
  std::vector<std::pair<std::string, uint64_t>> out;
  int n = rte_eth_xstats_get_names(port_id_, nullptr, 0);
  if (n <= 0) return out;
  std::vector<rte_eth_xstat_name> names(static_cast<size_t>(n));
  std::vector<rte_eth_xstat> values(static_cast<size_t>(n));
  if (rte_eth_xstats_get_names(port_id_, names.data(), static_cast<unsigned>(n)) != n) return out;
  int got = rte_eth_xstats_get(port_id_, values.data(), static_cast<unsigned>(n));
  if (got != n) return out;
  out.reserve(static_cast<size_t>(n));
  for (const rte_eth_xstat& v : values) {
    if (v.id < names.size()) out.emplace_back(names[v.id].name, v.value);
  }
  return out;
}

}  // namespace ringlane::ethdev
