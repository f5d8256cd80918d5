#include "ringlane/dataplane/dpdk_port.h"

#include <algorithm>

#include "ringlane/dataplane/port_factory.h"
#include "ringlane/dataplane/shared_transmit.h"

#if RINGLANE_WITH_DPDK
#include <rte_mbuf.h>
#include <rte_net.h>

#include <atomic>
#include <cstring>
#include <memory>

#include "ringlane/base/counter.h"
#include "ringlane/base/cpu_affinity.h"
#include "ringlane/base/log.h"
#include "ringlane/base/prefetch.h"
#include "ringlane/ethdev/eal.h"
#include "ringlane/ethdev/eth_port.h"
#include "ringlane/net/ethernet.h"
#include "ringlane/net/wire_frame.h"
#include "ringlane/virtio/span_cursor.h"
#endif

namespace ringlane::dataplane {

#if !RINGLANE_WITH_DPDK

std::function<void()> dpdk_worker_init(const std::vector<control::PortConfig>& /*ports*/) {
  return {};
}

Result<std::unique_ptr<Port>> make_dpdk_port(const control::PortConfig& /*config*/,
                                             PortContext& /*context*/) {
  return Error(ENOTSUP,
               "this ringlane was built without DPDK (install libdpdk-dev and configure again)");
}

#else

namespace {

// The mbufs a queue received and handed to the switch; a packet's `head` is its index here.
struct alignas(64) RxQueue {
  rte_mbuf* held[net::kBurstSize] = {};
  uint16_t held_count = 0;
  Counter packets, bytes;
  Counter runts;              // shorter than an Ethernet header
  Counter oversized;          // longer than the port's MTU allows
  Counter too_many_segments;  // more mbufs than a packet may have spans
};

struct alignas(64) TxQueue {
  std::atomic<bool> busy{false};  // held for a burst when workers share the queue
  Counter packets, bytes;         // frames the NIC took
  Counter no_mbufs;               // the pool was empty
  Counter ring_full;              // the NIC's ring had no room
  Counter too_large;              // longer than the port's MTU allows
  Counter malformed;              // an offload request that cannot be carried out, or a runt
  Counter offloaded;              // frames sent with the NIC's checksum or segmentation offload
  Counter software;               // frames whose offload request ringlane carried out itself
};

// One transmit burst: mbufs allocated in bulk, the frames collected and handed to the NIC in
// groups, what it did not take freed and counted.
class TxBurst {
 public:
  TxBurst(ethdev::EthPort& eth, uint16_t queue, TxQueue& stats)
      : eth_(eth), queue_(queue), stats_(stats) {}
  ~TxBurst() {
    flush();
    if (spare_at_ < spare_count_) {
      rte_pktmbuf_free_bulk(spares_ + spare_at_, spare_count_ - spare_at_);
    }
  }
  TxBurst(const TxBurst&) = delete;
  TxBurst& operator=(const TxBurst&) = delete;

  // Takes `n` mbufs from the pool at once (the pool's per-thread cache serves them); when the
  // pool cannot give them all, take() falls back to one at a time.
  void reserve(unsigned n) {
    n = std::min<unsigned>(n, net::kBurstSize);
    if (rte_pktmbuf_alloc_bulk(eth_.pool(), spares_, n) == 0) spare_count_ = n;
  }
  rte_mbuf* take() {
    if (spare_at_ < spare_count_) return spares_[spare_at_++];
    rte_mbuf* m = rte_pktmbuf_alloc(eth_.pool());
    if (m == nullptr) [[unlikely]]
      stats_.no_mbufs.inc();
    return m;
  }
  void give_back(rte_mbuf* m) { rte_pktmbuf_free(m); }
  void push(rte_mbuf* frame) {
    frames_[count_] = frame;
    bytes_ += frame->pkt_len;
    if (++count_ == kFrames) flush();
  }
  void flush() {
    if (count_ == 0) return;
    uint16_t sent = eth_.tx_burst(queue_, frames_, count_);
    if (sent < count_) [[unlikely]] {
      // Not taken: ours to free. Their lengths are read before; the sent ones may be gone.
      uint64_t unsent = 0;
      for (uint16_t i = sent; i < count_; ++i) unsent += frames_[i]->pkt_len;
      bytes_ -= unsent;
      rte_pktmbuf_free_bulk(frames_ + sent, count_ - sent);
      stats_.ring_full.add(count_ - sent);
    }
    stats_.packets.add(sent);
    stats_.bytes.add(bytes_);
    sent_ += sent;
    count_ = 0;
    bytes_ = 0;
  }
  uint32_t sent() const { return sent_; }
  uint16_t segment_room() const { return eth_.segment_room(); }

 private:
  // Frames handed to the NIC at once; a burst's TSO packets done in software make more.
  static constexpr uint16_t kFrames = 64;
  ethdev::EthPort& eth_;
  uint16_t queue_;
  TxQueue& stats_;
  rte_mbuf* spares_[net::kBurstSize] = {};
  unsigned spare_count_ = 0, spare_at_ = 0;
  rte_mbuf* frames_[kFrames] = {};
  uint16_t count_ = 0;
  uint64_t bytes_ = 0;
  uint32_t sent_ = 0;
};

// write_wire_frames' buffers: one mbuf per frame.
class MbufSink final : public net::FrameSink {
 public:
  MbufSink(TxBurst& burst, uint32_t max_frame) : burst_(burst), max_frame_(max_frame) {}
  ~MbufSink() {
    if (current_ != nullptr) burst_.give_back(current_);  // handed out, never committed
  }
  MbufSink(const MbufSink&) = delete;
  MbufSink& operator=(const MbufSink&) = delete;

  std::span<uint8_t> buffer() override {
    if (current_ == nullptr) current_ = burst_.take();
    if (current_ == nullptr) {
      ++no_buffer_;
      return {};
    }
    return {rte_pktmbuf_mtod(current_, uint8_t*), burst_.segment_room()};
  }
  void commit(uint32_t len) override {
    if (len > max_frame_) [[unlikely]] {  // a segment size beyond the wire's MTU
      ++too_large_;
      return;  // current_ is handed out again for the next frame
    }
    current_->data_len = static_cast<uint16_t>(len);
    current_->pkt_len = len;
    burst_.push(current_);
    current_ = nullptr;
  }
  uint32_t no_buffer() const { return no_buffer_; }
  uint32_t too_large() const { return too_large_; }

 private:
  TxBurst& burst_;
  uint32_t max_frame_;
  rte_mbuf* current_ = nullptr;
  uint32_t no_buffer_ = 0;
  uint32_t too_large_ = 0;
};

// Copies a packet into a chain of mbufs, each filled to its room; the chain's head, or nullptr
// when the pool ran dry.
rte_mbuf* copy_to_chain(TxBurst& burst, const net::PacketBatch& batch, const net::PacketView& p) {
  rte_mbuf* head = burst.take();
  if (head == nullptr) return nullptr;
  virtio::SpanCursor cursor(batch.spans_of(p), p.span_count);
  uint32_t left = p.len;
  rte_mbuf* seg = head;
  for (;;) {
    uint32_t chunk = std::min<uint32_t>(left, burst.segment_room());
    cursor.read(rte_pktmbuf_mtod(seg, void*), chunk);
    seg->data_len = static_cast<uint16_t>(chunk);
    left -= chunk;
    if (left == 0) break;
    rte_mbuf* next = burst.take();
    if (next == nullptr) {
      rte_pktmbuf_free(head);
      return nullptr;
    }
    seg->next = next;
    ++head->nb_segs;
    seg = next;
  }
  head->pkt_len = p.len;
  return head;
}

// The per-thread state DPDK keeps for the calling thread (its lcore id and mempool caches).
void register_worker() {
  if (Status s = ethdev::register_thread(); !s.ok()) {
    log_line(LogLevel::warn, "worker: " + s.error().to_string() +
                                 "; its mbufs come from the shared pool without a cache");
  }
}

class DpdkPort final : public Port {
 public:
  DpdkPort(std::string name, std::unique_ptr<ethdev::EthPort> eth)
      : name_(std::move(name)),
        eth_(std::move(eth)),
        rx_(std::make_unique<RxQueue[]>(eth_->queues())),
        tx_(std::make_unique<TxQueue[]>(eth_->queues())) {
    update_link(false);
  }
  ~DpdkPort() override {
    // Mbufs the switch still held (none once the workers stopped) go back before the pool.
    for (uint16_t q = 0; q < eth_->queues(); ++q) {
      if (rx_[q].held_count > 0) rte_pktmbuf_free_bulk(rx_[q].held, rx_[q].held_count);
    }
  }
  DpdkPort(const DpdkPort&) = delete;
  DpdkPort& operator=(const DpdkPort&) = delete;

  const std::string& name() const override { return name_; }
  uint16_t queue_pairs() const override { return eth_->queues(); }
  const char* kind() const override { return "dpdk"; }
  bool connected() const override { return link_up_.load(std::memory_order_relaxed); }
  void set_shared_transmit(bool shared) override { shared_transmit_ = shared; }
  int transmit_queue_for(unsigned worker) const override {
    return static_cast<int>(worker % eth_->queues());
  }

  uint16_t receive(uint16_t qp, net::PacketBatch& batch) override;
  void release(uint16_t qp, const net::PacketBatch& batch) override;
  uint16_t transmit(uint16_t qp, const net::PacketBatch& batch,
                    std::span<const uint16_t> which) override;
  std::vector<PortQueueStats> queue_stats() const override;
  std::vector<std::pair<std::string, uint64_t>> counters() const override;
  void tick(std::chrono::steady_clock::time_point now) override;

 private:
  // Checked this often from tick(): a link change shows within this, costing no worker time.
  static constexpr std::chrono::milliseconds kLinkCheck{500};

  uint16_t send(uint16_t qp, const net::PacketBatch& batch, std::span<const uint16_t> which);
  // One packet with an offload request the NIC can carry out (nic_can).
  // false when the NIC's segments would be too long for it: the packet goes the software way.
  bool send_offloaded(TxBurst& burst, uint16_t qp, const net::PacketBatch& batch,
                      const net::PacketView& p);
  bool nic_can(const net::PacketView& p) const;
  void update_link(bool log);

  std::string name_;
  std::unique_ptr<ethdev::EthPort> eth_;
  std::unique_ptr<RxQueue[]> rx_;
  std::unique_ptr<TxQueue[]> tx_;
  bool shared_transmit_ = false;
  std::atomic<bool> link_up_{false};
  std::atomic<uint32_t> link_speed_{0};
  std::chrono::steady_clock::time_point next_link_check_{};
};

uint16_t DpdkPort::receive(uint16_t qp, net::PacketBatch& batch) {
  batch.clear();
  RxQueue& q = rx_[qp];
  if (q.held_count > 0) [[unlikely]] {  // a batch never released
    rte_pktmbuf_free_bulk(q.held, q.held_count);
    q.held_count = 0;
  }
  rte_mbuf* frames[net::kBurstSize];
  uint16_t n = eth_->rx_burst(qp, frames, net::kBurstSize);
  if (n == 0) return 0;
  // The switch reads each frame's Ethernet header next: start every miss at once.
  for (uint16_t i = 0; i < n; ++i) prefetch_read(rte_pktmbuf_mtod(frames[i], void*), 64);
  uint64_t bytes = 0;
  uint32_t max_frame = eth_->max_frame();
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = frames[i];
    uint32_t len = m->pkt_len;
    if (len < RTE_ETHER_HDR_LEN || len > max_frame || m->nb_segs > net::kMaxPacketSpans ||
        batch.spans_used + m->nb_segs > net::PacketBatch::kSpanCapacity) [[unlikely]] {
      if (len < RTE_ETHER_HDR_LEN) {
        q.runts.inc();
      } else if (len > max_frame) {
        q.oversized.inc();
      } else {
        q.too_many_segments.inc();
      }
      rte_pktmbuf_free(m);
      continue;
    }
    net::PacketView& p = batch.packets[batch.count++];
    p.first_span = batch.spans_used;
    p.span_count = m->nb_segs;
    p.head = q.held_count;
    p.len = len;
    p.hdr = {};
    for (rte_mbuf* seg = m; seg != nullptr; seg = seg->next) {
      batch.spans[batch.spans_used++] = {rte_pktmbuf_mtod(seg, uint8_t*), seg->data_len};
    }
    q.held[q.held_count++] = m;
    bytes += len;
  }
  q.packets.add(batch.count);
  q.bytes.add(bytes);
  return batch.count;
}

void DpdkPort::release(uint16_t qp, const net::PacketBatch& /*batch*/) {
  RxQueue& q = rx_[qp];
  rte_pktmbuf_free_bulk(q.held, q.held_count);
  q.held_count = 0;
}

uint16_t DpdkPort::transmit(uint16_t qp, const net::PacketBatch& batch,
                            std::span<const uint16_t> which) {
  return transmit_serialised(tx_[qp].busy, shared_transmit_,
                             [&] { return send(qp, batch, which); });
}

bool DpdkPort::nic_can(const net::PacketView& p) const {
  const ethdev::TxOffloads& nic = eth_->tx_offloads();
  if (p.len > eth_->segment_room() && !nic.multi_segment) return false;
  uint8_t gso = p.hdr.gso_type & ~virtio::kNetHdrGsoEcn;
  if (gso == virtio::kNetHdrGsoTcpv4) return nic.tcp_segmentation && nic.ipv4_checksum;
  if (gso == virtio::kNetHdrGsoTcpv6) return nic.tcp_segmentation;
  if (gso != virtio::kNetHdrGsoNone) return false;
  if (p.len > eth_->max_frame()) return false;
  if (p.hdr.csum_offset == net::kTcpChecksumOffset) return nic.tcp_checksum;
  if (p.hdr.csum_offset == net::kUdpChecksumOffset) return nic.udp_checksum;
  return false;
}

bool DpdkPort::send_offloaded(TxBurst& burst, uint16_t qp, const net::PacketBatch& batch,
                              const net::PacketView& p) {
  TxQueue& q = tx_[qp];
  rte_mbuf* m = copy_to_chain(burst, batch, p);
  if (m == nullptr) return true;  // counted as no_mbufs
  // Planned from the copy: the headers the NIC reads are the ones checked.
  std::span<const uint8_t> headers(rte_pktmbuf_mtod(m, const uint8_t*), m->data_len);
  std::optional<NicOffload> plan = plan_nic_offload(headers, p.len, p.hdr);
  if (!plan) {
    rte_pktmbuf_free(m);
    q.malformed.inc();
    return true;
  }
  if (plan->segment && uint32_t{plan->l2_len} + plan->l3_len + plan->l4_len + plan->segment_size >
                           eth_->tx_offloads().max_segment_frame) [[unlikely]] {
    rte_pktmbuf_free(m);
    return false;
  }
  uint64_t flags = plan->ipv4 ? RTE_MBUF_F_TX_IPV4 : RTE_MBUF_F_TX_IPV6;
  if (plan->segment) {
    // Each segment gets its own IP length, so its own IPv4 header checksum.
    flags |= RTE_MBUF_F_TX_TCP_SEG | (plan->ipv4 ? RTE_MBUF_F_TX_IP_CKSUM : 0);
    m->l4_len = plan->l4_len;
    m->tso_segsz = plan->segment_size;
  } else {
    flags |= plan->checksum == NicOffload::Checksum::tcp ? RTE_MBUF_F_TX_TCP_CKSUM
                                                         : RTE_MBUF_F_TX_UDP_CKSUM;
  }
  m->l2_len = plan->l2_len;
  m->l3_len = plan->l3_len;
  m->ol_flags |= flags;
  // The checksum field as DPDK's offloads want it (the pseudo-header sum, without the length
  // when segmenting), then whatever this driver needs on top.
  if (rte_net_intel_cksum_flags_prepare(m, flags) != 0 || eth_->tx_prepare(qp, &m, 1) != 1) {
    rte_pktmbuf_free(m);
    q.malformed.inc();
    return true;
  }
  q.offloaded.inc();
  burst.push(m);
  return true;
}

uint16_t DpdkPort::send(uint16_t qp, const net::PacketBatch& batch,
                        std::span<const uint16_t> which) {
  TxQueue& q = tx_[qp];
  // The source's frames are in another core's cache, or a guest's memory: start the misses.
  for (uint16_t i : which) {
    const net::PacketView& p = batch.packets[i];
    prefetch_read(batch.spans_of(p)[0].data,
                  std::min<uint64_t>(batch.spans_of(p)[0].len, net::kFramePrefetchBytes));
  }
  TxBurst burst(*eth_, qp, q);
  burst.reserve(static_cast<unsigned>(which.size()));
  uint32_t room = eth_->segment_room();
  uint32_t max_frame = eth_->max_frame();
  for (uint16_t i : which) {
    const net::PacketView& p = batch.packets[i];
    if (!net::needs_wire_offload(p)) [[likely]] {
      if (p.len > max_frame || (p.len > room && !eth_->tx_offloads().multi_segment)) [[unlikely]] {
        q.too_large.inc();
        continue;
      }
      if (p.len < RTE_ETHER_HDR_LEN) [[unlikely]] {
        q.malformed.inc();
        continue;
      }
      rte_mbuf* m;
      if (p.len <= room) [[likely]] {
        m = burst.take();
        if (m == nullptr) continue;
        uint32_t len =
            net::copy_plain_frame(batch, p, {rte_pktmbuf_mtod(m, uint8_t*), size_t{room}});
        m->data_len = static_cast<uint16_t>(len);
        m->pkt_len = len;
      } else {
        m = copy_to_chain(burst, batch, p);
        if (m == nullptr) continue;
      }
      burst.push(m);
      continue;
    }
    if (nic_can(p) && send_offloaded(burst, qp, batch, p)) continue;
    // The NIC lacks the offload: segments and checksums done here, each frame copied once.
    if (p.hdr.gso_type == virtio::kNetHdrGsoNone && p.len > max_frame) [[unlikely]] {
      q.too_large.inc();
      continue;
    }
    MbufSink sink(burst, max_frame);
    net::WireFrames frames = net::write_wire_frames(batch, p, sink);
    uint32_t sent = frames.frames - sink.too_large();
    q.software.add(sent);
    q.too_large.add(sink.too_large());
    if (frames.malformed) {
      q.malformed.inc();
    } else if (frames.dropped > sink.no_buffer()) {
      q.too_large.add(frames.dropped - sink.no_buffer());
    }
  }
  burst.flush();
  return static_cast<uint16_t>(std::min<size_t>(burst.sent(), which.size()));
}

std::vector<PortQueueStats> DpdkPort::queue_stats() const {
  std::vector<PortQueueStats> out;
  bool live = connected();
  for (uint16_t qp = 0; qp < eth_->queues(); ++qp) {
    const RxQueue& r = rx_[qp];
    const TxQueue& t = tx_[qp];
    PortQueueStats s;
    s.queue_pair = qp;
    s.rx_live = live;
    s.tx_live = live;
    s.rx_packets = r.packets.get();
    s.rx_bytes = r.bytes.get();
    s.rx_drop_malformed = r.runts.get() + r.oversized.get() + r.too_many_segments.get();
    s.tx_packets = t.packets.get();
    s.tx_bytes = t.bytes.get();
    s.tx_drop_no_buffers = t.no_mbufs.get() + t.ring_full.get();
    s.tx_drop_too_large = t.too_large.get();
    out.push_back(s);
  }
  return out;
}

// The driver's own extended counters that the ethdev layer adds for every driver (the basic
// statistics again, per queue): left out, the NIC's totals are reported once.
bool generic_xstat(const std::string& name) {
  static const char* const generic[] = {
      "rx_good_packets",  "tx_good_packets", "rx_good_bytes", "tx_good_bytes",
      "rx_missed_errors", "rx_errors",       "tx_errors",     "rx_mbuf_allocation_errors"};
  for (const char* g : generic) {
    if (name == g) return true;
  }
  return (name.rfind("rx_q", 0) == 0 || name.rfind("tx_q", 0) == 0) && name.size() > 4 &&
         name[4] >= '0' && name[4] <= '9';
}

std::vector<std::pair<std::string, uint64_t>> DpdkPort::counters() const {
  uint64_t runts = 0, oversized = 0, segments = 0;
  for (uint16_t qp = 0; qp < eth_->queues(); ++qp) {
    runts += rx_[qp].runts.get();
    oversized += rx_[qp].oversized.get();
    segments += rx_[qp].too_many_segments.get();
  }
  uint64_t no_mbufs = 0, ring_full = 0, too_large = 0, malformed = 0, offloaded = 0, software = 0;
  for (uint16_t qp = 0; qp < eth_->queues(); ++qp) {
    const TxQueue& t = tx_[qp];
    no_mbufs += t.no_mbufs.get();
    ring_full += t.ring_full.get();
    too_large += t.too_large.get();
    malformed += t.malformed.get();
    offloaded += t.offloaded.get();
    software += t.software.get();
  }
  ethdev::EthStats nic = eth_->stats();
  std::vector<std::pair<std::string, uint64_t>> out = {
      {"link_up", connected() ? 1 : 0},
      {"link_speed_mbps", link_speed_.load(std::memory_order_relaxed)},
      {"rx_runts", runts},
      {"rx_oversized", oversized},
      {"rx_too_many_segments", segments},
      {"tx_no_mbufs", no_mbufs},
      {"tx_ring_full", ring_full},
      {"tx_too_large", too_large},
      {"tx_malformed", malformed},
      {"tx_offloaded", offloaded},
      {"tx_software_offload", software},
      {"nic_rx_packets", nic.rx_packets},
      {"nic_rx_bytes", nic.rx_bytes},
      {"nic_tx_packets", nic.tx_packets},
      {"nic_tx_bytes", nic.tx_bytes},
      {"nic_rx_missed", nic.rx_missed},
      {"nic_rx_errors", nic.rx_errors},
      {"nic_tx_errors", nic.tx_errors},
      {"nic_rx_nombuf", nic.rx_nombuf},
  };
  for (auto& [xname, value] : eth_->xstats()) {
    if (value != 0 && !generic_xstat(xname)) out.emplace_back("nic_" + xname, value);
  }
  return out;
}

void DpdkPort::update_link(bool log) {
  ethdev::LinkState link = eth_->link();
  bool was = link_up_.exchange(link.up, std::memory_order_relaxed);
  link_speed_.store(link.speed_mbps, std::memory_order_relaxed);
  if (log && was != link.up) {
    log_line(
        link.up ? LogLevel::info : LogLevel::warn,
        name_ + ": link " +
            (link.up ? "up" + (link.speed_mbps ? ", " + std::to_string(link.speed_mbps) + " Mb/s"
                                               : std::string())
                     : std::string("down")));
  }
}

void DpdkPort::tick(std::chrono::steady_clock::time_point now) {
  if (now < next_link_check_) return;
  next_link_check_ = now + kLinkCheck;
  update_link(true);
}

std::string offload_text(const ethdev::TxOffloads& o) {
  std::string text;
  auto add = [&](bool on, const char* what) {
    if (!on) return;
    if (!text.empty()) text += ' ';
    text += what;
  };
  add(o.ipv4_checksum, "ipv4-csum");
  add(o.tcp_checksum, "tcp-csum");
  add(o.udp_checksum, "udp-csum");
  add(o.tcp_segmentation, "tso");
  add(o.multi_segment, "multi-seg");
  return text.empty() ? "none (done in software)" : text;
}

}  // namespace

std::function<void()> dpdk_worker_init(const std::vector<control::PortConfig>& ports) {
  bool any = std::any_of(ports.begin(), ports.end(), [](const control::PortConfig& p) {
    return p.kind == control::PortKind::dpdk;
  });
  if (!any) return {};
  return register_worker;
}

Result<std::unique_ptr<Port>> make_dpdk_port(const control::PortConfig& config,
                                             PortContext& context) {
  ethdev::EalSettings eal;
  eal.no_huge = context.dpdk.no_huge;
  eal.file_prefix = context.dpdk.file_prefix;
  eal.memory_mb = context.dpdk.memory_mb;
  eal.debug = log_level() == LogLevel::debug;
  // main_cores left empty: the control thread's cores as they are now (the daemon pinned it
  // off the workers' cores before making ports).
  RINGLANE_TRY(ethdev::start_eal(eal));
  ethdev::EthPortConfig ec;
  ec.name = config.name;
  ec.devargs = config.devargs;
  ec.queues = config.queue_pairs;
  ec.threads = static_cast<unsigned>(context.worker_cores.size()) + 1;
  RINGLANE_ASSIGN_OR_RETURN(std::unique_ptr<ethdev::EthPort> eth, ethdev::EthPort::open(ec));
  std::string text = "port " + config.name + ": dpdk " + eth->driver() + " device " +
                     eth->device_name() + " (" + eth->mac() + "), " +
                     std::to_string(eth->queues()) + " queue pair(s)" +
                     (eth->queues() > 1 ? (eth->rss() ? ", RSS" : ", no RSS") : "") +
                     ", frames up to " + std::to_string(eth->max_frame()) +
                     " bytes, transmit offloads: " + offload_text(eth->tx_offloads());
  log_line(LogLevel::info, text);
  return std::unique_ptr<Port>(std::make_unique<DpdkPort>(config.name, std::move(eth)));
}

#endif

}  // namespace ringlane::dataplane
