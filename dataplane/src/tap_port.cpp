#include "ringlane/dataplane/tap_port.h"

#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ringlane/base/log.h"
#include "ringlane/dataplane/port_factory.h"
#include "ringlane/dataplane/shared_transmit.h"
#include "ringlane/net/wire_frame.h"

namespace ringlane::dataplane {

namespace {

constexpr uint32_t kEthernetHeader = 14;
constexpr uint32_t kVnetHeader = sizeof(virtio::NetHeader);

}  // namespace

Result<std::unique_ptr<Port>> make_tap_port(const control::PortConfig& config,
                                            PortContext& /*context*/) {
  if (config.queue_pairs != 1) return Error(EINVAL, "a TAP port has one queue pair");
  uplink::TapOptions options;
  options.vnet_header = true;
  options.offloads = true;
  RINGLANE_ASSIGN_OR_RETURN(uplink::TapDevice device,
                            uplink::TapDevice::open(config.ifname, options));
  log_line(LogLevel::info, "port " + config.name + ": TAP device " + device.name() +
                               " (virtio-net header, checksum and TSO offloads)");
  return std::unique_ptr<Port>(std::make_unique<TapPort>(config.name, std::move(device)));
}

TapPort::TapPort(std::string name, uplink::TapDevice device)
    : name_(std::move(name)),
      device_(std::move(device)),
      header_bytes_(device_.options().vnet_header ? kVnetHeader : 0),
      slots_(std::make_unique<Slot[]>(net::kBurstSize)) {
  for (uint16_t i = 0; i < net::kBurstSize; ++i) free_slots_[i] = i;
}

bool TapPort::header_valid(const virtio::NetHeader& hdr, uint32_t len) const {
  if ((hdr.flags & virtio::kNetHdrFNeedsCsum) &&
      uint32_t{hdr.csum_start} + hdr.csum_offset + 2 > len) {
    return false;
  }
  uint8_t gso = hdr.gso_type & ~virtio::kNetHdrGsoEcn;
  if (gso == virtio::kNetHdrGsoNone) return true;
  // Only TCP segmentation was offered to the kernel (TUNSETOFFLOAD), and it needs a checksum to
  // finish in every segment.
  return (gso == virtio::kNetHdrGsoTcpv4 || gso == virtio::kNetHdrGsoTcpv6) && hdr.gso_size != 0 &&
         (hdr.flags & virtio::kNetHdrFNeedsCsum) && hdr.hdr_len <= len;
}

TapPort::ReadResult TapPort::read_frame(uint16_t slot, net::PacketBatch& batch) {
  uint8_t* buf = slots_[slot].bytes;
  ssize_t n = ::read(device_.fd(), buf, kSlotBytes);
  if (n < 0) {
    if (errno != EAGAIN && errno != EINTR) rx_read_errors_.inc();
    return ReadResult::empty;
  }
  auto got = static_cast<uint64_t>(n);
  if (got > kSlotBytes) {
    rx_oversized_.inc();
    return ReadResult::refused;
  }
  if (got < header_bytes_ + kEthernetHeader) {
    rx_runt_.inc();
    return ReadResult::refused;
  }
  auto len = static_cast<uint32_t>(got - header_bytes_);
  virtio::NetHeader hdr{};
  if (header_bytes_ != 0) {
    std::memcpy(&hdr, buf, sizeof(hdr));
    // DATA_VALID is not passed on (the receive path would leave its fast path for it, and a
    // guest verifies a checksum itself cheaply); num_buffers means nothing on this side.
    hdr.flags &= virtio::kNetHdrFNeedsCsum;
    hdr.num_buffers = 0;
    if (!header_valid(hdr, len)) {
      rx_bad_header_.inc();
      return ReadResult::refused;
    }
  }
  net::PacketView& p = batch.packets[batch.count++];
  p.first_span = batch.spans_used;
  p.span_count = 1;
  p.head = slot;
  p.len = len;
  p.hdr = hdr;
  batch.spans[batch.spans_used++] = virtio::HostSpan{buf + header_bytes_, len};
  batch.source_heads[batch.source_head_count++] = slot;
  rx_packets_.inc();
  rx_bytes_.add(len);
  return ReadResult::frame;
}

uint16_t TapPort::receive(uint16_t /*qp*/, net::PacketBatch& batch) {
  batch.clear();
  // Refused frames leave their slot free for the next read; the reads are bounded all the same,
  // so a flood of bad frames cannot hold the worker here.
  for (uint32_t reads = 0; free_count_ > 0 && reads < 2u * net::kBurstSize; ++reads) {
    ReadResult r = read_frame(free_slots_[free_count_ - 1], batch);
    if (r == ReadResult::empty) break;
    if (r == ReadResult::frame) --free_count_;
  }
  return batch.count;
}

void TapPort::release(uint16_t /*qp*/, const net::PacketBatch& batch) {
  for (uint16_t i = 0; i < batch.source_head_count; ++i) {
    free_slots_[free_count_++] = batch.source_heads[i];
  }
}

bool TapPort::write_frame(const net::PacketBatch& batch, const net::PacketView& p) {
  iovec iov[net::kMaxPacketSpans + 1];
  int count = 0;
  virtio::NetHeader hdr = p.hdr;
  hdr.num_buffers = 0;
  if (header_bytes_ != 0) {
    iov[count++] = iovec{&hdr, header_bytes_};
  } else if (net::needs_wire_offload(p)) {
    tx_no_offload_.inc();
    return false;
  }
  const virtio::HostSpan* spans = batch.spans_of(p);
  for (uint16_t s = 0; s < p.span_count; ++s) {
    iov[count++] = iovec{spans[s].data, spans[s].len};
  }
  ssize_t n = ::writev(device_.fd(), iov, count);
  if (n >= 0) return true;
  switch (errno) {
    case EAGAIN:
      tx_full_.inc();
      break;
    case EIO:
      tx_link_down_.inc();
      break;
    default:
      tx_refused_.inc();
      break;
  }
  return false;
}

uint16_t TapPort::transmit_burst(const net::PacketBatch& batch, std::span<const uint16_t> which) {
  uint16_t sent = 0;
  uint64_t bytes = 0;
  for (uint16_t i : which) {
    const net::PacketView& p = batch.packets[i];
    if (write_frame(batch, p)) {
      ++sent;
      bytes += p.len;
    }
  }
  tx_packets_.add(sent);
  tx_bytes_.add(bytes);
  return sent;
}

uint16_t TapPort::transmit(uint16_t /*qp*/, const net::PacketBatch& batch,
                           std::span<const uint16_t> which) {
  return transmit_serialised(transmit_busy_, shared_transmit_,
                             [&] { return transmit_burst(batch, which); });
}

std::vector<PortQueueStats> TapPort::queue_stats() const {
  PortQueueStats s;
  s.queue_pair = 0;
  s.rx_live = true;
  s.tx_live = true;
  s.rx_packets = rx_packets_.get();
  s.rx_bytes = rx_bytes_.get();
  s.rx_drop_malformed = rx_runt_.get() + rx_oversized_.get() + rx_bad_header_.get();
  s.rx_ring_errors = rx_read_errors_.get();
  s.tx_packets = tx_packets_.get();
  s.tx_bytes = tx_bytes_.get();
  s.tx_drop_no_buffers = tx_full_.get();
  s.tx_drop_queue_down = tx_link_down_.get();
  s.tx_ring_errors = tx_refused_.get() + tx_no_offload_.get();
  return {s};
}

std::vector<std::pair<std::string, uint64_t>> TapPort::counters() const {
  return {
      {"rx_runt", rx_runt_.get()},
      {"rx_oversized", rx_oversized_.get()},
      {"rx_bad_header", rx_bad_header_.get()},
      {"rx_read_errors", rx_read_errors_.get()},
      {"tx_queue_full", tx_full_.get()},
      {"tx_link_down", tx_link_down_.get()},
      {"tx_refused", tx_refused_.get()},
      {"tx_no_offload", tx_no_offload_.get()},
  };
}

}  // namespace ringlane::dataplane
