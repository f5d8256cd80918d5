// EthPort: one DPDK ethdev port, owned. Opening it probes the device its devargs name (a PCI
// NIC, net_af_packet, net_af_xdp, net_tap, net_pcap, net_null, ...), configures N RX/TX queue
// pairs (RSS over the RX queues when there are several and the device can), gives it an mbuf
// pool, and starts it in promiscuous mode (it is a switch's uplink). Link state and counters
// are read without waiting. Destroying it stops and closes the port, detaches the device and
// frees the pool. Bursts are called from the threads that poll the queues, one thread per queue
// at a time; everything else from the control thread. Needs start_eal first.
#pragma once

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ringlane/base/result.h"
#include "ringlane/ethdev/eal.h"

namespace ringlane::ethdev {

struct EthPortConfig {
  std::string name;  // ringlane's name for it, for log lines
  std::string devargs;
  uint16_t queues = 1;
  uint16_t rx_descriptors = 1024;
  uint16_t tx_descriptors = 1024;
  // Threads that will allocate and free this port's mbufs (workers and the control thread):
  // each may keep a mempool cache's worth.
  unsigned threads = 2;
};

// The transmit offloads the port was configured with (those the device offers of the ones
// ringlane uses).
struct TxOffloads {
  bool ipv4_checksum = false;
  bool tcp_checksum = false;
  bool udp_checksum = false;
  bool tcp_segmentation = false;
  bool multi_segment = false;  // a frame may be a chain of mbufs
  // The longest segment (headers included) the device's TSO makes: the port's longest frame,
  // except on drivers that count the Ethernet header in the MTU (net_tap's TSO refuses a
  // segment of MTU + 14 bytes, and with it the rest of the burst).
  uint32_t max_segment_frame = 0;
};

struct LinkState {
  bool up = false;
  uint32_t speed_mbps = 0;  // 0 when unknown
  bool full_duplex = false;
};

// rte_eth_stats' port-wide counters.
struct EthStats {
  uint64_t rx_packets = 0, rx_bytes = 0, tx_packets = 0, tx_bytes = 0;
  uint64_t rx_missed = 0;  // the NIC had no descriptor for them
  uint64_t rx_errors = 0, tx_errors = 0;
  uint64_t rx_nombuf = 0;  // the driver had no mbuf to refill with
};

class EthPort {
 public:
  static Result<std::unique_ptr<EthPort>> open(const EthPortConfig& config);
  ~EthPort();
  EthPort(const EthPort&) = delete;
  EthPort& operator=(const EthPort&) = delete;

  uint16_t port_id() const { return port_id_; }
  uint16_t queues() const { return queues_; }
  rte_mempool* pool() const { return pool_; }
  // Bytes of frame one mbuf of the pool holds (after its headroom).
  uint16_t segment_room() const { return segment_room_; }
  // The longest frame the port carries: its MTU, the Ethernet header and two VLAN tags.
  uint32_t max_frame() const { return max_frame_; }
  const TxOffloads& tx_offloads() const { return tx_offloads_; }
  bool rss() const { return rss_; }
  // "net_af_packet", "net_ixgbe", ...; the device's name ("net_af_packet0", "0000:03:00.0");
  // its MAC address as text.
  const std::string& driver() const { return driver_; }
  const std::string& device_name() const { return device_name_; }
  const std::string& mac() const { return mac_; }

  uint16_t rx_burst(uint16_t queue, rte_mbuf** frames, uint16_t count) {
    return rte_eth_rx_burst(port_id_, queue, frames, count);
  }
  // Lets the driver fix up the offload fields of frames it is about to send (pseudo-header
  // checksums its hardware wants, limits it checks): the frames before the first it refuses.
  uint16_t tx_prepare(uint16_t queue, rte_mbuf** frames, uint16_t count) {
    return rte_eth_tx_prepare(port_id_, queue, frames, count);
  }
  uint16_t tx_burst(uint16_t queue, rte_mbuf** frames, uint16_t count) {
    return rte_eth_tx_burst(port_id_, queue, frames, count);
  }

  LinkState link() const;
  EthStats stats() const;
  // The driver's extended counters, by name.
  std::vector<std::pair<std::string, uint64_t>> xstats() const;

 private:
  EthPort() = default;
  Status configure(const EthPortConfig& config, DpdkErrors& errors);

  uint16_t port_id_ = RTE_MAX_ETHPORTS;
  rte_device* device_ = nullptr;
  uint16_t queues_ = 0;
  rte_mempool* pool_ = nullptr;
  uint16_t segment_room_ = 0;
  uint32_t max_frame_ = 0;
  TxOffloads tx_offloads_;
  bool rss_ = false;
  bool started_ = false;
  std::string driver_, device_name_, mac_;
};

}  // namespace ringlane::ethdev
