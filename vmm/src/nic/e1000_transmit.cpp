#include "ringlane/vmm/nic/e1000_transmit.h"

#include <cstring>

#include "ringlane/net/checksum.h"
#include "ringlane/net/segmentation.h"
#include "ringlane/vmm/nic/e1000_registers.h"

namespace ringlane::vmm {

namespace {

uint32_t load32(const uint8_t* p) {
  uint32_t v = 0;
  std::memcpy(&v, p, 4);
  return v;
}

uint16_t load16(const uint8_t* p) {
  uint16_t v = 0;
  std::memcpy(&v, p, 2);
  return v;
}

constexpr uint32_t kDtypShift = 20;
constexpr uint32_t kDtypContext = 0;
constexpr uint32_t kDtypData = 1;

}  // namespace

E1000Transmit::E1000Transmit(Sink sink) : sink_(std::move(sink)) {
  packet_.resize(kMaxPacket);
  scratch_.resize(kMaxPacket + 4);
}

void E1000Transmit::reset() {
  size_ = 0;
  drop_ = false;
  first_ = true;
  context_ = {};
}

uint32_t E1000Transmit::take(std::span<const uint8_t, 16> descriptor,
                             const virtio::GuestMemory& memory, uint16_t vlan_ethertype) {
  uint64_t address = 0;
  std::memcpy(&address, descriptor.data(), 8);
  uint32_t command = load32(descriptor.data() + 8);
  uint32_t status = load32(descriptor.data() + 12);
  bool extended = (command & e1000::kTxCmdDext) != 0;
  uint32_t dtyp = (command >> kDtypShift) & 0xf;

  if (extended && dtyp == kDtypContext) {
    const uint8_t* d = descriptor.data();
    context_.ipcss = d[0];
    context_.ipcso = d[1];
    context_.ipcse = load16(d + 2);
    context_.tucss = d[4];
    context_.tucso = d[5];
    context_.tucse = load16(d + 6);
    context_.paylen = command & 0xfffff;
    context_.tcp = (command & e1000::kTxTucmdTcp) != 0;
    context_.hdrlen = d[13];
    context_.mss = load16(d + 14);
    return command;
  }
  if (extended && dtyp != kDtypData) {
    ++counters_.bad_offload;  // a descriptor type this part does not have
    return command;
  }
  if (first_) {
    vlan_ = vlan_ethertype != 0 && (command & e1000::kTxCmdVle) != 0;
    vlan_ethertype_ = vlan_ethertype;
    vlan_tag_ = static_cast<uint16_t>(status >> 16);
    if (extended) {
      options_ = status & (e1000::kTxPoptsIxsm | e1000::kTxPoptsTxsm);
      tse_ = (command & e1000::kTxCmdTse) != 0;
      legacy_checksum_ = false;
    } else {
      options_ = 0;
      tse_ = false;
      legacy_checksum_ = (command & e1000::kTxCmdIc) != 0;
      legacy_cso_ = static_cast<uint8_t>(command >> 16);
      legacy_css_ = static_cast<uint8_t>(status >> 8);
    }
  }
  gather(address, extended ? command & 0xfffff : command & 0xffff, memory);
  first_ = (command & e1000::kTxCmdEop) != 0;
  if (first_) finish_packet();
  return command;
}

void E1000Transmit::gather(uint64_t address, uint32_t length, const virtio::GuestMemory& memory) {
  if (drop_ || length == 0) return;
  if (length > kMaxPacket - size_) {
    ++counters_.oversized;
    drop_ = true;
    return;
  }
  const uint8_t* source = memory.translate(address, length);
  if (source == nullptr) {
    ++counters_.bad_dma;
    drop_ = true;
    return;
  }
  std::memcpy(packet_.data() + size_, source, length);
  size_ += length;
}

bool E1000Transmit::insert_checksum(std::span<uint8_t> frame, uint32_t start, uint32_t offset,
                                    uint32_t end, bool udp_style) {
  uint32_t stop = end == 0 ? static_cast<uint32_t>(frame.size())
                           : std::min<uint32_t>(end + 1, static_cast<uint32_t>(frame.size()));
  if (start >= stop || offset + 2 > frame.size()) {
    ++counters_.bad_offload;
    return false;
  }
  virtio::HostSpan whole{frame.data(), frame.size()};
  uint16_t sum = net::fold_checksum(net::ones_complement_sum(&whole, 1, start, stop));
  if (udp_style && sum == 0) sum = 0xffff;  // UDP sends a computed zero as all ones
  std::memcpy(frame.data() + offset, &sum, 2);
  return true;
}

void E1000Transmit::finish_packet() {
  std::span<uint8_t> frame(packet_.data(), size_);
  bool drop = drop_ || size_ == 0;
  size_ = 0;
  drop_ = false;
  if (drop) return;
  if (tse_) {
    // The segmenter rebuilds every header and computes full checksums, which is what TSE with
    // IXSM and TXSM asks for; the context's header length must agree with what it parses.
    virtio::NetHeader gso{};
    gso.gso_size = context_.mss;
    virtio::HostSpan whole{frame.data(), frame.size()};
    net::TcpSegmenter segmenter;
    if (!context_.tcp || !segmenter.start(&whole, 1, static_cast<uint32_t>(frame.size()), gso)) {
      ++counters_.bad_offload;
      return;
    }
    net::Segment segment;
    while (segmenter.next(segment)) {
      uint32_t at = 0;
      for (uint32_t i = 0; i < segment.span_count; ++i) {
        std::memcpy(scratch_.data() + 4 + at, segment.spans[i].data, segment.spans[i].len);
        at += static_cast<uint32_t>(segment.spans[i].len);
      }
      emit({scratch_.data() + 4, at});
    }
    return;
  }
  if ((options_ & e1000::kTxPoptsTxsm) != 0) {
    insert_checksum(frame, context_.tucss, context_.tucso, context_.tucse, !context_.tcp);
  }
  if ((options_ & e1000::kTxPoptsIxsm) != 0) {
    insert_checksum(frame, context_.ipcss, context_.ipcso, context_.ipcse, false);
  }
  if (legacy_checksum_) insert_checksum(frame, legacy_css_, legacy_cso_, 0, false);
  emit(frame);
}

void E1000Transmit::emit(std::span<uint8_t> frame) {
  if (vlan_ && frame.size() >= 12) {
    // 802.1Q tag after the addresses; the frame is copied once more, which tagged traffic
    // through an emulated NIC can afford.
    std::vector<uint8_t>& out = scratch_;
    std::memmove(out.data(), frame.data(), 12);  // scratch_ may hold the frame at offset 4
    out[12] = static_cast<uint8_t>(vlan_ethertype_ >> 8);
    out[13] = static_cast<uint8_t>(vlan_ethertype_);
    out[14] = static_cast<uint8_t>(vlan_tag_ >> 8);
    out[15] = static_cast<uint8_t>(vlan_tag_);
    if (frame.data() != out.data() + 4)
      std::memmove(out.data() + 16, frame.data() + 12, frame.size() - 12);
    sink_({out.data(), frame.size() + 4});
  } else {
    sink_(frame);
  }
  ++counters_.frames;
  counters_.bytes += frame.size();
}

}  // namespace ringlane::vmm
