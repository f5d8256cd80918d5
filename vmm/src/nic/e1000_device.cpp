#include "ringlane/vmm/nic/e1000_device.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "ringlane/base/epoll.h"
#include "ringlane/base/log.h"
#include "ringlane/vmm/nic/e1000_registers.h"

namespace ringlane::vmm {

namespace e = e1000;

namespace {

constexpr PciIdentity kIdentity{0x8086, 0x100e, 0x020000, 0x03, 0x8086, 0x001e};
constexpr uint32_t kMinFrame = 60;     // shorter frames are padded on the wire
constexpr uint32_t kFcsLength = 4;     // present in the buffer unless RCTL.SECRC
constexpr uint32_t kFrameMax = 16384;  // what one TAP read may return (jumbo frames)
constexpr int kBurst = 32;

enum Token : uint64_t { kTapReadable, kWake, kStop };

uint32_t receive_buffer_size(uint32_t rctl) {
  static constexpr uint32_t kSizes[4] = {2048, 1024, 512, 256};
  uint32_t size = kSizes[(rctl >> e::kRctlBsizeShift) & 3];
  // Extended sizes (BSEX) are 16 times larger; "2048 x 16" is reserved and treated as 2048.
  if ((rctl & e::kRctlBsex) != 0 && size != 2048) size *= 16;
  return size;
}

uint32_t load32(std::span<const uint8_t> data) {
  uint32_t v = 0;
  std::memcpy(&v, data.data(), std::min<size_t>(data.size(), 4));
  return v;
}

}  // namespace

E1000Device::E1000Device(const virtio::GuestMemory& memory, uplink::TapDevice tap,
                         const std::array<uint8_t, 6>& mac, EventFd wake, EventFd stop)
    : PciDevice(kIdentity),
      memory_(memory),
      tap_(std::move(tap)),
      mac_(mac),
      wake_(std::move(wake)),
      stop_(std::move(stop)),
      regs_(e::kRegisterSpace / 4),
      eeprom_(mac),
      transmitter_([this](std::span<const uint8_t> frame) { write_frame(frame); }) {
  config().add_memory_bar(0, e::kRegisterSpace, false);
  config().add_io_bar(1, e::kIoSpace);
  config().set_interrupt_pin(1, 0);
  reset();
}

Result<std::shared_ptr<E1000Device>> E1000Device::create(const virtio::GuestMemory& memory, uplink::TapDevice tap,
                                                         const std::array<uint8_t, 6>& mac) {
  Result<EventFd> wake = EventFd::create();
  if (!wake.ok()) return wake.error();
  Result<EventFd> stop = EventFd::create();
  if (!stop.ok()) return stop.error();
  std::shared_ptr<E1000Device> device(
      new E1000Device(memory, std::move(tap), mac, std::move(*wake), std::move(*stop)));
  device->receiver_ = std::thread([d = device.get()] { d->serve_receive(); });
  return device;
}

E1000Device::~E1000Device() {
  (void)stop_.signal();
  if (receiver_.joinable()) receiver_.join();
}

void E1000Device::set_interrupt_line(std::unique_ptr<InterruptLine> line) {
  std::lock_guard lock(mutex_);
  line_ = std::move(line);
  line_high_ = false;
  update_interrupt();
}

void E1000Device::reset() {
  std::fill(regs_.begin(), regs_.end(), 0);
  reg(e::kCtrl) = e::kCtrlSlu | (2U << 8);  // link up, 1000 Mb/s
  reg(e::kStatus) = e::kStatusFd | e::kStatusLu | e::kStatusSpeed1000;
  reg(0x1000) = 0x00000030;  // PBA: 48 KiB of packet buffer for receive
  reg(0x0e00) = 0x07068302;  // LEDCTL default
  // The receive address the EEPROM loads at reset, marked valid.
  reg(e::kRal0) = uint32_t{mac_[0]} | uint32_t{mac_[1]} << 8 | uint32_t{mac_[2]} << 16 |
                  uint32_t{mac_[3]} << 24;
  reg(e::kRah0) = uint32_t{mac_[4]} | uint32_t{mac_[5]} << 8 | e::kRahAv;
  transmitter_.reset();
  update_interrupt();
}

bool E1000Device::active() const {
  std::lock_guard lock(mutex_);
  return ((regs_[e::kRctl / 4] & e::kRctlEn) | (regs_[e::kTctl / 4] & e::kTctlEn)) != 0;
}

NetBackendCounters E1000Device::counters() const {
  NetBackendCounters c;
  {
    std::lock_guard lock(mutex_);
    const E1000TxCounters& t = transmitter_.counters();
    c.tx_frames = t.frames;
    c.tx_bytes = t.bytes;
    c.drops = t.bad_dma + t.oversized + t.bad_offload;
  }
  c.rx_frames = rx_frames_.load(std::memory_order_relaxed);
  c.rx_bytes = rx_bytes_.load(std::memory_order_relaxed);
  c.drops += rx_drops_.load(std::memory_order_relaxed) + tx_drops_.load(std::memory_order_relaxed);
  c.kicks = doorbells_.load(std::memory_order_relaxed);
  c.interrupts = interrupts_.load(std::memory_order_relaxed);
  c.wakeups = wakeups_.load(std::memory_order_relaxed);
  return c;
}

E1000Faults E1000Device::faults() const {
  std::lock_guard lock(mutex_);
  E1000Faults f = faults_;
  f.bad_dma += transmitter_.counters().bad_dma;
  f.bad_offload += transmitter_.counters().bad_offload;
  return f;
}

// --- Register access -------------------------------------------------------------------------

void E1000Device::bar_read(int bar, uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mutex_);
  uint32_t value = 0xffffffff;
  if (bar == 0) {
    if (data.size() != 4) ++faults_.odd_accesses;
    value = read_register(static_cast<uint32_t>(offset & ~3ULL));
    value >>= 8 * (offset & 3);
  } else if (bar == 1 && offset == e::kIoAddr) {
    value = io_address_;
  } else if (bar == 1 && offset == e::kIoData) {
    value = read_register(io_address_ & (e::kRegisterSpace - 4));
  }
  std::memcpy(data.data(), &value, std::min<size_t>(data.size(), 4));
}

void E1000Device::bar_write(int bar, uint64_t offset, std::span<const uint8_t> data) {
  std::lock_guard lock(mutex_);
  uint32_t value = load32(data);
  if (bar == 1) {
    if (offset == e::kIoAddr) io_address_ = value;
    if (offset == e::kIoData) write_register(io_address_ & (e::kRegisterSpace - 4), value);
    return;
  }
  auto aligned = static_cast<uint32_t>(offset & ~3ULL);
  if (data.size() != 4 || (offset & 3) != 0) {
    // Narrow writes merge into the register as it stands, then act as a full write.
    ++faults_.odd_accesses;
    uint32_t merged = reg(aligned);
    std::memcpy(reinterpret_cast<uint8_t*>(&merged) + (offset & 3), data.data(),
                std::min<size_t>(data.size(), 4 - (offset & 3)));
    value = merged;
  }
  write_register(aligned, value);
}

void E1000Device::config_written(uint16_t offset, uint8_t size, bool decoding_changed) {
  (void)offset;
  (void)size;
  (void)decoding_changed;
  uint16_t command = config().command();
  std::lock_guard lock(mutex_);
  bus_master_ = (command & PciConfigSpace::kCommandBusMaster) != 0;
  intx_disabled_ = (command & PciConfigSpace::kCommandIntxDisable) != 0;
}

uint32_t E1000Device::read_register(uint32_t offset) {
  switch (offset) {
    case e::kIcr: {
      // Reading ICR acknowledges every cause, which lowers the line.
      uint32_t causes = reg(e::kIcr);
      reg(e::kIcr) = 0;
      update_interrupt();
      return causes;
    }
    case e::kIcs:
      return reg(e::kIcr);
    case e::kImc:
      return 0;
    case e::kEecd:
      return eeprom_.read_eecd();
    case e::kEerd:
      return eeprom_.read_eerd();
    default:
      break;
  }
  if (offset >= e::kStatsStart && offset < e::kStatsEnd) {
    uint32_t v = reg(offset);
    reg(offset) = 0;  // statistics clear on read
    return v;
  }
  return reg(offset);
}

void E1000Device::write_register(uint32_t offset, uint32_t value) {
  switch (offset) {
    case e::kCtrl:
      if ((value & e::kCtrlRst) != 0) {
        reset();
        return;
      }
      if ((value & e::kCtrlPhyRst) != 0) phy_.reset();
      reg(offset) = value;
      return;
    case e::kStatus:
      return;  // read-only
    case e::kEecd:
      eeprom_.write_eecd(value);
      return;
    case e::kEerd:
      eeprom_.write_eerd(value);
      return;
    case e::kMdic:
      reg(offset) = phy_.access(value);
      if ((value & e::kMdicInterrupt) != 0) raise(e::kIntMdac);
      return;
    case e::kIcr:
      reg(e::kIcr) &= ~value;
      update_interrupt();
      return;
    case e::kIcs:
      raise(value);
      return;
    case e::kIms:
      reg(e::kIms) |= value;
      update_interrupt();
      return;
    case e::kImc:
      reg(e::kIms) &= ~value;
      update_interrupt();
      return;
    case e::kRctl:
    case e::kRdt:
      reg(offset) = offset == e::kRdt ? value & 0xffff : value;
      (void)wake_.signal();
      return;
    case e::kRdh:
    case e::kTdh:
      reg(offset) = value & 0xffff;
      return;
    case e::kRdlen:
    case e::kTdlen:
      reg(offset) = value & 0xfff80;  // a multiple of 128 bytes (8 descriptors)
      return;
    case e::kTdt:
      reg(offset) = value & 0xffff;
      doorbells_.fetch_add(1, std::memory_order_relaxed);
      transmit();
      return;
    case e::kTctl:
      reg(offset) = value;
      if ((value & e::kTctlEn) == 0) transmitter_.reset();
      transmit();
      return;
    default:
      break;
  }
  if (offset >= e::kStatsStart && offset < e::kStatsEnd) return;  // statistics are read-only
  reg(offset) = value;
}

// --- Interrupts ------------------------------------------------------------------------------

void E1000Device::raise(uint32_t causes) {
  reg(e::kIcr) |= causes;
  update_interrupt();
}

void E1000Device::update_interrupt() {
  bool high = line_ != nullptr && (reg(e::kIcr) & reg(e::kIms)) != 0 && !intx_disabled_;
  if (high == line_high_) return;
  line_high_ = high;
  if (high) interrupts_.fetch_add(1, std::memory_order_relaxed);
  Status s = line_->set(high);
  if (!s.ok())
    log_line(LogLevel::error, "e1000: cannot set its interrupt line: " + s.error().message());
}

// --- Transmit (vCPU thread, lock held) -------------------------------------------------------

void E1000Device::transmit() {
  if ((reg(e::kTctl) & e::kTctlEn) == 0) return;
  if (!bus_master_) return;
  uint32_t count = reg(e::kTdlen) / e::kDescriptorSize;
  if (reg(e::kTdh) == reg(e::kTdt)) return;
  if (count == 0 || reg(e::kTdh) >= count || reg(e::kTdt) >= count) {
    if (faults_.bad_ring++ == 0)
      log_line(LogLevel::warn, "e1000: transmit ring head or tail outside the ring");
    return;
  }
  uint64_t base = (uint64_t{reg(e::kTdbah)} << 32) | (reg(e::kTdbal) & ~0xfU);
  uint16_t vlan = (reg(e::kCtrl) & e::kCtrlVme) != 0 ? static_cast<uint16_t>(reg(e::kVet)) : 0;
  uint32_t causes = e::kIntTxqe;
  // At most one lap: the guest may move TDT while we walk, but never makes us loop.
  for (uint32_t budget = count; budget != 0 && reg(e::kTdh) != reg(e::kTdt); --budget) {
    uint8_t* slot =
        memory_.translate(base + uint64_t{reg(e::kTdh)} * e::kDescriptorSize, e::kDescriptorSize);
    if (slot == nullptr) {
      if (faults_.bad_dma++ == 0)
        log_line(LogLevel::warn, "e1000: transmit ring outside guest RAM");
      break;
    }
    // A private copy: the guest may rewrite the descriptor while we use it.
    std::array<uint8_t, 16> descriptor{};
    std::memcpy(descriptor.data(), slot, descriptor.size());
    uint32_t command = transmitter_.take(descriptor, memory_, vlan);
    if ((command & (e::kTxCmdRs | e::kTxCmdRps)) != 0) {
      slot[12] |= e::kTxStatusDd;
      causes |= e::kIntTxdw;
    }
    reg(e::kTdh) = (reg(e::kTdh) + 1) % count;
  }
  raise(causes);
}

void E1000Device::write_frame(std::span<const uint8_t> frame) {
  if (::write(tap_.fd(), frame.data(), frame.size()) < 0) {
    tx_drops_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  reg(e::kGptc) += 1;
  reg(e::kTpt) += 1;
  reg(e::kGotcl) += static_cast<uint32_t>(frame.size());
}

// --- Receive (receive thread) ----------------------------------------------------------------

uint32_t E1000Device::free_receive_descriptors() {
  uint32_t count = reg(e::kRdlen) / e::kDescriptorSize;
  uint32_t head = reg(e::kRdh), tail = reg(e::kRdt);
  if (count == 0 || head >= count || tail >= count) return 0;
  // Hardware owns the descriptors from head up to (not including) tail.
  return (tail + count - head) % count;
}

bool E1000Device::receive_ready() {
  return (reg(e::kRctl) & e::kRctlEn) != 0 && bus_master_ && free_receive_descriptors() != 0;
}

bool E1000Device::accepts(std::span<const uint8_t> frame) {
  const uint8_t* dest = frame.data();
  uint32_t rctl = reg(e::kRctl);
  if (std::all_of(dest, dest + 6, [](uint8_t b) { return b == 0xff; })) {
    return (rctl & e::kRctlBam) != 0;
  }
  if ((dest[0] & 1) != 0) {
    if ((rctl & (e::kRctlMpe | e::kRctlUpe)) != 0) return true;
    // The multicast table: 12 bits of the address, which ones chosen by RCTL.MO.
    static constexpr int kShift[4] = {4, 3, 2, 0};
    int shift = kShift[(rctl >> e::kRctlMoShift) & 3];
    uint32_t hash = ((dest[4] >> shift) | (uint32_t{dest[5]} << (8 - shift))) & 0xfff;
    return (reg(e::kMta + (hash >> 5) * 4) >> (hash & 31) & 1) != 0;
  }
  if ((rctl & e::kRctlUpe) != 0) return true;
  for (uint32_t i = 0; i < 16; ++i) {
    uint32_t low = reg(e::kRal0 + 8 * i), high = reg(e::kRah0 + 8 * i);
    if ((high & e::kRahAv) == 0) continue;
    uint8_t address[6] = {static_cast<uint8_t>(low),       static_cast<uint8_t>(low >> 8),
                          static_cast<uint8_t>(low >> 16), static_cast<uint8_t>(low >> 24),
                          static_cast<uint8_t>(high),      static_cast<uint8_t>(high >> 8)};
    if (std::memcmp(address, dest, 6) == 0) return true;
  }
  return false;
}

uint32_t E1000Device::deliver(std::span<const uint8_t> frame) {
  if ((reg(e::kRctl) & e::kRctlEn) == 0) {  // the driver turned the receiver off meanwhile
    rx_drops_.fetch_add(1, std::memory_order_relaxed);
    return 0;
  }
  if (!accepts(frame)) return 0;
  uint32_t rctl = reg(e::kRctl);
  auto length = static_cast<uint32_t>(frame.size());
  uint32_t total = length + ((rctl & e::kRctlSecrc) != 0 ? 0 : kFcsLength);
  uint32_t buffer = receive_buffer_size(rctl);
  uint32_t needed = (total + buffer - 1) / buffer;
  if (needed > free_receive_descriptors()) {
    rx_drops_.fetch_add(1, std::memory_order_relaxed);
    reg(e::kRnbc) += 1;
    reg(e::kMpc) += 1;
    return e::kIntRxo;
  }
  uint32_t count = reg(e::kRdlen) / e::kDescriptorSize;
  uint64_t base = (uint64_t{reg(e::kRdbah)} << 32) | (reg(e::kRdbal) & ~0xfU);
  uint32_t done = 0;
  for (uint32_t i = 0; i < needed; ++i) {
    uint8_t* slot =
        memory_.translate(base + uint64_t{reg(e::kRdh)} * e::kDescriptorSize, e::kDescriptorSize);
    if (slot == nullptr) {
      if (faults_.bad_dma++ == 0) log_line(LogLevel::warn, "e1000: receive ring outside guest RAM");
      rx_drops_.fetch_add(1, std::memory_order_relaxed);
      return 0;
    }
    uint64_t address = 0;
    std::memcpy(&address, slot, 8);
    uint32_t chunk = std::min(buffer, total - done);
    // Bytes of this chunk that are frame (the rest is the FCS, left as zeros).
    uint32_t data = done < length ? std::min(chunk, length - done) : 0;
    uint8_t status = e::kRxStatusDd | e::kRxStatusIxsm;
    uint8_t errors = 0;
    if (address != 0) {
      uint8_t* target = memory_.translate(address, chunk);
      if (target == nullptr) {
        if (faults_.bad_dma++ == 0)
          log_line(LogLevel::warn, "e1000: receive buffer outside guest RAM");
        errors = 0x80;  // RXE: the frame is reported, its data is not there
      } else {
        std::memcpy(target, frame.data() + done, data);
        std::memset(target + data, 0, chunk - data);
      }
    }
    done += chunk;
    if (done == total) status |= e::kRxStatusEop;
    uint16_t written = static_cast<uint16_t>(chunk);
    std::memcpy(slot + 8, &written, 2);
    std::memset(slot + 10, 0, 2);  // packet checksum: not computed
    slot[13] = errors;
    std::memset(slot + 14, 0, 2);
    // Status last: it is what the driver polls.
    __atomic_store_n(&slot[12], status, __ATOMIC_RELEASE);
    reg(e::kRdh) = (reg(e::kRdh) + 1) % count;
  }
  rx_frames_.fetch_add(1, std::memory_order_relaxed);
  rx_bytes_.fetch_add(length, std::memory_order_relaxed);
  reg(e::kGprc) += 1;
  reg(e::kTpr) += 1;
  reg(e::kGorcl) += length;
  uint32_t causes = e::kIntRxt0;
  // RDMTS: interrupt when free descriptors fall to 1/2, 1/4 or 1/8 of the ring.
  uint32_t threshold = count >> (((rctl >> e::kRctlRdmtsShift) & 3) + 1);
  if (free_receive_descriptors() <= threshold) causes |= e::kIntRxdmt0;
  return causes;
}

int E1000Device::receive_burst() {
  static thread_local std::array<uint8_t, kFrameMax> frame;
  int moved = 0;
  uint32_t causes = 0;
  while (moved < kBurst) {
    {
      std::lock_guard lock(mutex_);
      if (!receive_ready()) break;
    }
    ssize_t n = ::read(tap_.fd(), frame.data(), frame.size());
    if (n <= 0) break;
    auto length = static_cast<uint32_t>(n);
    if (length < 14) continue;  // not an Ethernet frame
    if (length < kMinFrame) {
      std::memset(frame.data() + length, 0, kMinFrame - length);
      length = kMinFrame;
    }
    std::lock_guard lock(mutex_);
    causes |= deliver({frame.data(), length});
    ++moved;
  }
  if (causes != 0) {
    std::lock_guard lock(mutex_);
    raise(causes);
  }
  return moved;
}

void E1000Device::serve_receive() {
  Result<Epoll> epoll = Epoll::create();
  if (!epoll.ok() || !epoll->add(tap_.fd(), EPOLLIN, kTapReadable).ok() ||
      !epoll->add(wake_.fd(), EPOLLIN, kWake).ok() ||
      !epoll->add(stop_.fd(), EPOLLIN, kStop).ok()) {
    log_line(LogLevel::error, "e1000: cannot set up epoll; nothing will be received");
    return;
  }
  bool tap_watched = true;
  for (;;) {
    if (receive_burst() != 0) continue;
    bool ready = false;
    {
      std::lock_guard lock(mutex_);
      ready = receive_ready();
    }
    // With no free descriptors, frames wait in the TAP queue and the tail doorbell wakes us.
    if (ready != tap_watched) {
      (void)epoll->modify(tap_.fd(), ready ? uint32_t{EPOLLIN} : 0U, kTapReadable);
      tap_watched = ready;
    }
    epoll_event events[3];
    Result<int> n = epoll->wait(events, -1);
    wakeups_.fetch_add(1, std::memory_order_relaxed);
    if (!n.ok()) continue;
    for (int i = 0; i < *n; ++i) {
      if (events[i].data.u64 == kStop) return;
      if (events[i].data.u64 == kWake) wake_.drain();
    }
  }
}

}  // namespace ringlane::vmm
