// A deliberately hostile vhost-user frontend on one of ringlane's sockets.
//
// hostile_frontend SOCKET CASE [CASE...]: sets up a virtio-net device like a driver would, then
// does one hostile thing; each case on a connection of its own, closed before the next. Exit 0
// when every case went as expected (below), 1 otherwise.
//   Ring cases (loop oob avail_jump nested_indirect len_overflow bad_head bad_csum_start) write
//   one kind of malformed ring into the transmit queue. Exit 0 when ringlane reports NEEDS_RESET
//   (for bad_csum_start, a malformed header: when it keeps the queue in service), 1 otherwise.
//   ring_outside_table: with REPLY_ACK, points the receive queue's rings outside the memory
//   table. Exit 0 when ringlane refuses with an error reply, keeps the connection and still
//   serves the transmit queue, 1 otherwise.
//   oversized: a message announcing a 64 KiB payload. Exit 0 when ringlane drops the connection
//   (and served the transmit queue before), 1 otherwise.
//   Packed-ring cases (packed_*) negotiate VIRTIO_F_RING_PACKED. Their ring cases write one kind
//   of malformed chain into the transmit queue: a buffer id out of range (packed_id_range), an
//   id made available again before the device gave it back (packed_id_reused), a chain longer
//   than the ring (packed_chain_too_long: packed chains cannot loop, they run on), NEXT on the
//   last available descriptor (packed_partial_chain), a chain whose head carries the AVAIL/USED
//   bits of the device's lap and its tail those of the lap before, after a lap of well-formed
//   frames (packed_wrap_mismatch), a length past the end of memory (packed_len_overflow), an
//   address outside it (packed_oob), an address and length wrapping past 2^64
//   (packed_addr_wrap), an indirect table inside an indirect table (packed_nested_indirect), of
//   a length not a multiple of 16 (packed_indirect_len), outside memory (packed_indirect_oob),
//   longer than the ring (packed_indirect_too_long), not the last of its chain
//   (packed_indirect_not_last), a writable buffer to transmit (packed_write_on_tx). Exit 0 when
//   ringlane reports NEEDS_RESET, 1 otherwise. Their set-up cases, with REPLY_ACK, give the
//   receive queue a ring ringlane must not start: the driver's event suppression area past the
//   end of memory (packed_driver_event_oob), the device's outside it (packed_device_event_oob),
//   the descriptor ring straddling the end (packed_ring_oob), a SET_VRING_BASE whose avail and
//   used wrap counters contradict each other (packed_base_wraps), one with indices outside the
//   ring (packed_base_range). Exit 0 when ringlane refuses with an error reply, accepts the
//   well-formed value after it, still serves the transmit queue, keeps the connection and does
//   not report NEEDS_RESET, 1 otherwise.
//   Exit 2 on set-up failure.
//
// hostile_frontend SOCKET --loop SECONDS [--flood-ms N] [--pause-ms N]: plays every attack in a
// loop for SECONDS, each on a fresh connection set up as a driver would (so every one costs
// ringlane a set-up and a tear-down): the ring cases; a kick flood (eventfd writes on both kick
// fds as fast as possible for N ms, default 20); a flood of invalid messages on one connection
// with REPLY_ACK (bad request codes, wrong sizes and fd counts, bad values, memory regions past
// the end of their file, ring addresses outside the memory table, for N ms); then one message
// of each kind after which ringlane must drop the connection (payload over 4096 bytes, more
// than 8 fds, a bad version, an unsupported request or ring addresses outside the table without
// REPLY_ACK, a memory region past its file, a truncated message, a second frontend); then
// sleeps --pause-ms (default 0). The packed-ring cases come after the split ring cases, each on
// a connection of its own. --rate N starts at most N cycles a second (default 0: as fast as it
// can). --attacks plays only the named ones (ring, packed, kicks, invalid, dropping; default
// all).
// Prints one summary line of key=value counts. Exit 0 when ringlane answered every attack as
// expected, 1 otherwise, 2 when it could not be reached.
//
// hostile_frontend SOCKET --pair OTHER_SOCKET FRAMES: for once a well-behaved driver, on two
// ports ringlane cross-connects (the no-hiccup test's port that comes and goes): offers receive
// buffers on OTHER_SOCKET's port, sends FRAMES frames on SOCKET's, kicking as a driver does, and
// waits for them to arrive, then for ringlane to close both connections (the ports removed).
// Exit 0 when all arrived within 5 s and both closed within 30 s more, 1 otherwise, 2 on set-up
// failure. With IDLE_MS, each frame follows that long a quiet spell and its trip to the other port
// is timed (busy-polling the receive ring): prints latency_us p50= p90= max=.
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ringlane/base/unix_socket.h"
#include "ringlane/vhost_user/message.h"
#include "ringlane/vhost_user/message_channel.h"
#include "ringlane/virtio/spec.h"

using namespace ringlane;
using namespace ringlane::vhost_user;
using ringlane::virtio::RegionDescriptor;

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr uint64_t kMemSize = 16 << 20;
constexpr uint32_t kQueueSize = 256;
constexpr uint64_t kFrame = 0x100000;       // guest-physical address of the frame buffer
constexpr uint64_t kInnerTable = 0x200000;  // an indirect table
constexpr uint64_t kRingArea = 0x30000;     // both queues' rings lie below this
constexpr int kReplyTimeoutMs = 1000;
constexpr int kStatusWaitMs = 300;

constexpr const char* kRingCases[] = {
    "loop", "oob", "avail_jump", "nested_indirect", "len_overflow", "bad_head", "bad_csum_start"};
// Malformed chains in a packed transmit queue: each must break it.
constexpr const char* kPackedRingCases[] = {"packed_id_range",
                                            "packed_id_reused",
                                            "packed_chain_too_long",
                                            "packed_partial_chain",
                                            "packed_wrap_mismatch",
                                            "packed_len_overflow",
                                            "packed_oob",
                                            "packed_addr_wrap",
                                            "packed_nested_indirect",
                                            "packed_indirect_len",
                                            "packed_indirect_oob",
                                            "packed_indirect_too_long",
                                            "packed_indirect_not_last",
                                            "packed_write_on_tx"};
// A packed receive queue ringlane must refuse to start.
constexpr const char* kPackedSetupCases[] = {"packed_driver_event_oob", "packed_device_event_oob",
                                             "packed_ring_oob", "packed_base_wraps",
                                             "packed_base_range"};
// SET_VRING_BASE of a fresh packed ring: avail and used at 0, both wrap counters 1.
constexpr uint32_t kPackedStart = 0x80008000u;

volatile std::sig_atomic_t g_stop = 0;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "hostile_frontend: %s\n", what.c_str());
  std::exit(2);
}

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// The hostile guest's memory: one memfd, offered to ringlane on every connection.
class HostileMemory {
 public:
  HostileMemory() {
    fd_ = UniqueFd(memfd_create("hostile-guest", MFD_CLOEXEC));
    if (!fd_ || ftruncate(fd_.get(), kMemSize) < 0) die("memfd");
    void* p = mmap(nullptr, kMemSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd_.get(), 0);
    if (p == MAP_FAILED) die("mmap");
    base_ = static_cast<uint8_t*>(p);
  }

  int fd() const { return fd_.get(); }
  uint64_t uaddr(uint64_t offset) const { return reinterpret_cast<uint64_t>(base_) + offset; }
  static uint64_t desc(uint32_t q) { return 0x1000 + q * 0x10000ull; }
  static uint64_t avail(uint32_t q) { return desc(q) + uint64_t{16} * kQueueSize; }
  static uint64_t used(uint32_t q) { return desc(q) + 0x8000; }
  VringAddr ring_addr(uint32_t q) const {
    return {q, 0, uaddr(desc(q)), uaddr(used(q)), uaddr(avail(q)), 0};
  }
  virtio::VringDesc* table(uint32_t q) const {
    return reinterpret_cast<virtio::VringDesc*>(base_ + desc(q));
  }
  virtio::VringAvail* avail_ring(uint32_t q) const {
    return reinterpret_cast<virtio::VringAvail*>(base_ + avail(q));
  }
  uint16_t used_idx(uint32_t q) const {
    return __atomic_load_n(&reinterpret_cast<virtio::VringUsed*>(base_ + used(q))->idx,
                           __ATOMIC_ACQUIRE);
  }
  uint8_t* at(uint64_t offset) const { return base_ + offset; }
  virtio::PackedDesc* packed_ring(uint32_t q) const {
    return reinterpret_cast<virtio::PackedDesc*>(base_ + desc(q));
  }
  // A driver's AVAIL/USED bits for a descriptor it makes available in the lap of `wrap`.
  static uint16_t avail_flags(bool wrap) {
    return wrap ? virtio::kPackedDescFAvail : virtio::kPackedDescFUsed;
  }
  // Makes descs available from `first` on as a driver does: all but the first in full, then the
  // first's flags (release), so that the device finds all of them or none.
  void publish_packed(uint32_t q, uint16_t first,
                      const std::vector<virtio::PackedDesc>& descs) const {
    virtio::PackedDesc* ring = packed_ring(q);
    for (size_t i = 1; i < descs.size(); ++i) {
      std::memcpy(static_cast<void*>(&ring[(first + i) % kQueueSize]), &descs[i], sizeof(descs[i]));
    }
    virtio::PackedDesc& head = ring[first];
    head.addr = descs[0].addr;
    head.len = descs[0].len;
    head.id = descs[0].id;
    __atomic_store_n(&head.flags, descs[0].flags, __ATOMIC_RELEASE);
  }
  // Whether the device has written a used descriptor at `slot` in the lap of `wrap`.
  bool packed_used(uint32_t q, uint16_t slot, bool wrap) const {
    uint16_t f = __atomic_load_n(&packed_ring(q)[slot].flags, __ATOMIC_ACQUIRE);
    return ((f & virtio::kPackedDescFAvail) != 0) == wrap &&
           ((f & virtio::kPackedDescFUsed) != 0) == wrap;
  }
  void publish_avail(uint32_t q, uint16_t head, uint16_t idx) const {
    avail_ring(q)->ring[0] = head;
    __atomic_store_n(&avail_ring(q)->idx, idx, __ATOMIC_RELEASE);
  }

  // A fresh device for the next connection: empty rings, a frame with a clean header.
  void reset() const {
    std::memset(base_, 0, kRingArea);
    std::memset(base_ + kFrame, 0xab, 2048);
    std::memset(base_ + kFrame, 0, 12);
  }

 private:
  UniqueFd fd_;
  uint8_t* base_ = nullptr;
};

// One connection to ringlane, as a driver (or not) would use it.
class Session {
 public:
  // Connects; retries briefly while ringlane's listen backlog is full.
  static std::optional<Session> open(const std::string& path, std::string& error) {
    auto deadline = Clock::now() + milliseconds(kReplyTimeoutMs);
    for (;;) {
      auto fd = connect_unix(path);
      if (fd) return Session(std::move(*fd));
      if (fd.error().code() != EAGAIN || Clock::now() >= deadline) {
        error = fd.error().to_string();
        return std::nullopt;
      }
      std::this_thread::sleep_for(milliseconds(1));
    }
  }

  const std::string& error() const { return error_; }
  int fd() const { return channel_->fd(); }
  int kick(uint32_t q) const { return kick_[q].get(); }

  // Negotiates and sets up both virtqueues like a driver, REPLY_ACK too when asked for, packed
  // rings when asked for; ends with a round trip, so true means ringlane took every message.
  bool set_up(const HostileMemory& mem, bool reply_ack, bool packed = false) {
    auto offered = get_u64(Request::get_features);
    if (!offered) return false;
    // CSUM: a checksum request is only read (its offsets only checked) when it was negotiated.
    uint64_t features =
        *offered & (virtio::bit(virtio::kFVersion1) | virtio::bit(kFProtocolFeatures) |
                    virtio::bit(virtio::kFRingIndirectDesc) | virtio::bit(virtio::kNetFCsum) |
                    (packed ? virtio::bit(virtio::kFRingPacked) : 0));
    if (packed && !(features & virtio::bit(virtio::kFRingPacked))) {
      error_ = "ringlane does not offer VIRTIO_F_RING_PACKED";
      return false;
    }
    auto offered_protocol = get_u64(Request::get_protocol_features);
    if (!offered_protocol) return false;
    uint64_t protocol = *offered_protocol & (virtio::bit(protocol::kStatus) |
                                             (reply_ack ? virtio::bit(protocol::kReplyAck) : 0));
    if (reply_ack && !(protocol & virtio::bit(protocol::kReplyAck))) {
      error_ = "ringlane does not offer REPLY_ACK";
      return false;
    }
    struct {
      uint32_t n, pad;
      RegionDescriptor r;
    } table{1, 0, {0, kMemSize, mem.uaddr(0), 0}};
    int mem_fd = mem.fd();
    if (!send(Request::set_owner, 0, nullptr, 0) ||
        !send(Request::set_protocol_features, 0, &protocol, 8) ||
        !send(Request::set_features, 0, &features, 8) ||
        !send(Request::set_mem_table, 0, &table, sizeof(table), &mem_fd, 1)) {
      return false;
    }
    for (uint32_t q = 0; q < 2; ++q) {
      // A packed ring's addresses are its descriptor ring and the driver's and the device's
      // event suppression areas, in the places of desc, avail and used.
      VringState num{q, kQueueSize}, base{q, packed ? kPackedStart : 0}, enable{q, 1};
      VringAddr addr = mem.ring_addr(q);
      kick_[q] = UniqueFd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
      call_[q] = UniqueFd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
      if (!kick_[q] || !call_[q]) {
        error_ = "eventfd";
        return false;
      }
      uint64_t index = q;
      int kick_fd = kick_[q].get(), call_fd = call_[q].get();
      if (!send(Request::set_vring_num, 0, &num, sizeof(num)) ||
          !send(Request::set_vring_base, 0, &base, sizeof(base)) ||
          !send(Request::set_vring_addr, 0, &addr, sizeof(addr)) ||
          !send(Request::set_vring_kick, 0, &index, 8, &kick_fd, 1) ||
          !send(Request::set_vring_call, 0, &index, 8, &call_fd, 1) ||
          !send(Request::set_vring_enable, 0, &enable, sizeof(enable))) {
        return false;
      }
    }
    return status().has_value();
  }

  bool send(Request r, uint32_t flags, const void* payload, uint32_t size, const int* fds = nullptr,
            size_t nfds = 0) {
    if (Status s = channel_->send(r, flags, payload, size, fds, nfds); !s.ok()) {
      error_ = std::string(to_string(r)) + ": " + s.error().to_string();
      return false;
    }
    return true;
  }

  // The next message from ringlane (its answer: it sends nothing unasked).
  std::optional<Message> await_reply(int timeout_ms = kReplyTimeoutMs) {
    auto deadline = Clock::now() + milliseconds(timeout_ms);
    for (;;) {
      auto m = channel_->receive();
      if (!m) {
        error_ = "receive: " + m.error().to_string();
        return std::nullopt;
      }
      if (m->has_value()) return std::move(**m);
      int left = remaining_ms(deadline);
      if (left == 0) {
        error_ = "no reply from ringlane";
        return std::nullopt;
      }
      pollfd p{fd(), POLLIN, 0};
      ::poll(&p, 1, left);
    }
  }

  std::optional<uint64_t> get_u64(Request r) {
    if (!send(r, 0, nullptr, 0)) return std::nullopt;
    auto m = await_reply();
    if (!m) return std::nullopt;
    return m->u64();
  }
  std::optional<uint64_t> status() { return get_u64(Request::get_status); }

  // A request with NEED_REPLY: the acked result (0 success), or nullopt without an answer.
  std::optional<uint64_t> acked(Request r, const void* payload, uint32_t size,
                                const int* fds = nullptr, size_t nfds = 0) {
    if (!send(r, kFlagNeedReply, payload, size, fds, nfds)) return std::nullopt;
    auto m = await_reply();
    if (!m) return std::nullopt;
    return m->u64();
  }

  // Bytes as given, whatever the header says: true when all of them were written.
  bool send_raw(const MessageHeader& header, const void* payload, size_t size,
                const int* fds = nullptr, size_t nfds = 0) {
    iovec iov[2] = {{const_cast<MessageHeader*>(&header), sizeof(header)},
                    {const_cast<void*>(payload), size}};
    std::vector<char> control(CMSG_SPACE(sizeof(int) * nfds));
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = size ? 2 : 1;
    if (nfds > 0) {
      msg.msg_control = control.data();
      msg.msg_controllen = control.size();
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
      std::memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
    }
    ssize_t n = ::sendmsg(fd(), &msg, MSG_NOSIGNAL);
    if (n < 0) error_ = std::string("sendmsg: ") + std::strerror(errno);
    return n == static_cast<ssize_t>(sizeof(header) + size);
  }

  // Waits until ringlane closes its end (anything it still sends is discarded).
  bool await_close(int timeout_ms = kReplyTimeoutMs) {
    auto deadline = Clock::now() + milliseconds(timeout_ms);
    char sink[4096];
    for (;;) {
      ssize_t n = ::recv(fd(), sink, sizeof(sink), MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno == ECONNRESET)) return true;
      if (n > 0) continue;
      int left = remaining_ms(deadline);
      if (left == 0) return false;
      pollfd p{fd(), POLLIN | POLLRDHUP, 0};
      ::poll(&p, 1, left);
    }
  }

  // Half-closes and waits for ringlane's end-of-file: once it comes, ringlane has torn the
  // device down and the next connection finds the port free.
  bool close() {
    ::shutdown(fd(), SHUT_WR);
    bool closed = await_close();
    if (!closed) error_ = "ringlane did not close its end";
    channel_.reset();
    return closed;
  }

 private:
  explicit Session(UniqueFd fd) : channel_(std::in_place, std::move(fd)) {}

  std::optional<MessageChannel> channel_;
  UniqueFd kick_[2];
  UniqueFd call_[2];
  std::string error_;
};

// Writes one kind of malformed ring (or header) into the transmit queue (1) and publishes it.
void write_ring_attack(const HostileMemory& mem, const std::string& which) {
  virtio::VringDesc* d = mem.table(1);
  uint16_t new_idx = 1;
  uint16_t head = 0;
  if (which == "loop") {
    d[0] = {kFrame, 100, virtio::kDescFNext, 1};
    d[1] = {kFrame, 100, virtio::kDescFNext, 0};
  } else if (which == "oob") {
    d[0] = {uint64_t{1} << 40, 64, 0, 0};
  } else if (which == "avail_jump") {
    d[0] = {kFrame, 100, 0, 0};
    new_idx = 1000;
  } else if (which == "nested_indirect") {
    auto* inner = reinterpret_cast<virtio::VringDesc*>(mem.at(kInnerTable));
    inner[0] = {kInnerTable, 32, virtio::kDescFIndirect, 0};
    inner[1] = {kFrame, 100, 0, 0};
    d[0] = {kInnerTable, 32, virtio::kDescFIndirect, 0};
  } else if (which == "len_overflow") {
    d[0] = {kFrame, 0xffffffffu, 0, 0};
  } else if (which == "bad_head") {
    d[0] = {kFrame, 100, 0, 0};
    head = 300;
  } else if (which == "bad_csum_start") {
    virtio::NetHeader h{};
    h.flags = virtio::kNetHdrFNeedsCsum;
    h.csum_start = 4000;  // beyond the 88-byte frame
    std::memcpy(mem.at(kFrame), &h, sizeof(h));
    d[0] = {kFrame, 100, 0, 0};
  } else {
    die("unknown case " + which);
  }
  mem.publish_avail(1, head, new_idx);
}

bool is_ring_case(const std::string& which) {
  for (const char* c : kRingCases) {
    if (which == c) return true;
  }
  return false;
}

// After a ring attack: NEEDS_RESET as soon as ringlane reports it, or (bad_csum_start) the
// status once the frame came back used. nullopt when the connection failed.
std::optional<uint64_t> status_after_attack(Session& s, const HostileMemory& mem,
                                            const std::string& which) {
  auto deadline = Clock::now() + milliseconds(kStatusWaitMs);
  if (which == "bad_csum_start") {
    while (mem.used_idx(1) != 1 && Clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(1));
    }
    return s.status();
  }
  for (;;) {
    auto status = s.status();
    if (!status || (*status & virtio::kStatusNeedsReset) || Clock::now() >= deadline) {
      return status;
    }
    std::this_thread::sleep_for(milliseconds(1));
  }
}

bool ring_attack_expected(const std::string& which, uint64_t status) {
  bool needs_reset = (status & virtio::kStatusNeedsReset) != 0;
  // A malformed header costs only that frame: the queue must stay in service.
  return which == "bad_csum_start" ? !needs_reset : needs_reset;
}

// Posts one well-formed frame on the transmit queue and waits until ringlane has used it.
bool transmit_queue_served(const HostileMemory& mem, uint16_t idx) {
  mem.table(1)[0] = {kFrame, 100, 0, 0};
  mem.publish_avail(1, 0, idx);
  auto deadline = Clock::now() + milliseconds(kReplyTimeoutMs);
  while (mem.used_idx(1) != idx) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return true;
}

// Ring addresses outside the memory table: desc past its end, avail straddling it, used far off.
VringAddr outside_table(const HostileMemory& mem, uint32_t q, int variant) {
  VringAddr addr = mem.ring_addr(q);
  switch (variant % 3) {
    case 0:
      addr.desc_user_addr = mem.uaddr(kMemSize + 0x1000);
      break;
    case 1:
      addr.avail_user_addr = mem.uaddr(kMemSize - 64);
      break;
    default:
      addr.used_user_addr = 0xdead0000;
      break;
  }
  return addr;
}

// --- packed rings -------------------------------------------------------------------------

bool is_packed_ring_case(const std::string& which) {
  for (const char* c : kPackedRingCases) {
    if (which == c) return true;
  }
  return false;
}

bool is_packed_setup_case(const std::string& which) {
  for (const char* c : kPackedSetupCases) {
    if (which == c) return true;
  }
  return false;
}

void kick(const Session& s, uint32_t q) {
  uint64_t one = 1;
  (void)!::write(s.kick(q), &one, sizeof(one));
}

// Waits until the device has written used descriptors at `count` slots from `first` on, in the
// lap of `wrap` (one-descriptor chains: a used descriptor per slot).
bool await_packed_used(const HostileMemory& mem, uint32_t q, uint16_t first, uint32_t count,
                       bool wrap) {
  auto deadline = Clock::now() + milliseconds(kReplyTimeoutMs);
  for (uint32_t i = 0; i < count; ++i) {
    while (!mem.packed_used(q, static_cast<uint16_t>(first + i), wrap)) {
      if (Clock::now() >= deadline) return false;
      std::this_thread::sleep_for(milliseconds(1));
    }
  }
  return true;
}

// Writes one kind of malformed chain into the packed transmit queue (1), from a fresh ring, and
// makes it available. False (with `error`) when the well-formed lap packed_wrap_mismatch plays
// first was not served.
bool write_packed_attack(const HostileMemory& mem, const Session& s, const std::string& which,
                         std::string& error) {
  using virtio::kDescFIndirect;
  using virtio::kDescFNext;
  using virtio::PackedDesc;
  const uint16_t avail = HostileMemory::avail_flags(true);
  const auto next = static_cast<uint16_t>(avail | kDescFNext);
  const auto indirect = static_cast<uint16_t>(avail | kDescFIndirect);
  auto* inner = reinterpret_cast<PackedDesc*>(mem.at(kInnerTable));
  std::vector<PackedDesc> d;
  if (which == "packed_id_range") {
    d = {{kFrame, 100, 300, avail}};
  } else if (which == "packed_id_reused") {
    // Two chains with one id in a single publication: the second reuses it before the device
    // gave it back.
    d = {{kFrame, 100, 7, avail}, {kFrame, 100, 7, avail}};
  } else if (which == "packed_chain_too_long") {
    d.assign(kQueueSize, PackedDesc{kFrame, 16, 0, next});
  } else if (which == "packed_partial_chain") {
    d = {{kFrame, 100, 0, next}};  // descriptor 1 keeps the fresh ring's zeroes: not available
  } else if (which == "packed_wrap_mismatch") {
    // A whole lap of well-formed frames: the device's wrap counter goes to 0.
    std::vector<PackedDesc> lap(kQueueSize);
    for (uint16_t i = 0; i < kQueueSize; ++i) lap[i] = {kFrame, 100, i, avail};
    mem.publish_packed(1, 0, lap);
    kick(s, 1);
    if (!await_packed_used(mem, 1, 0, kQueueSize, true)) {
      error = "the lap of well-formed frames was not served";
      return false;
    }
    // Then a chain whose head is available in lap 0 and whose tail has lap 1's bits.
    d = {{kFrame, 100, 0, static_cast<uint16_t>(HostileMemory::avail_flags(false) | kDescFNext)},
         {kFrame, 100, 0, avail}};
  } else if (which == "packed_len_overflow") {
    d = {{kFrame, 0xffffffffu, 0, avail}};
  } else if (which == "packed_oob") {
    d = {{uint64_t{1} << 40, 64, 0, avail}};
  } else if (which == "packed_addr_wrap") {
    d = {{~uint64_t{0} - 0xff, 0x200, 0, avail}};
  } else if (which == "packed_nested_indirect") {
    inner[0] = {kInnerTable, 32, 0, kDescFIndirect};
    inner[1] = {kFrame, 100, 0, 0};
    d = {{kInnerTable, 32, 0, indirect}};
  } else if (which == "packed_indirect_len") {
    inner[0] = {kFrame, 100, 0, 0};
    inner[1] = {kFrame, 100, 0, 0};
    d = {{kInnerTable, 24, 0, indirect}};
  } else if (which == "packed_indirect_oob") {
    d = {{uint64_t{1} << 40, 32, 0, indirect}};
  } else if (which == "packed_indirect_too_long") {
    for (uint32_t i = 0; i <= kQueueSize; ++i) {
      inner[i] = {kFrame, 16, 0, static_cast<uint16_t>(i < kQueueSize ? kDescFNext : 0)};
    }
    d = {{kInnerTable, (kQueueSize + 1) * 16, 0, indirect}};
  } else if (which == "packed_indirect_not_last") {
    inner[0] = {kFrame, 100, 0, 0};
    d = {{kInnerTable, 16, 0, static_cast<uint16_t>(indirect | kDescFNext)},
         {kFrame, 100, 0, avail}};
  } else if (which == "packed_write_on_tx") {
    d = {{kFrame, 100, 0, static_cast<uint16_t>(avail | virtio::kDescFWrite)}};
  } else {
    die("unknown case " + which);
  }
  mem.publish_packed(1, 0, d);
  kick(s, 1);
  return true;
}

// Makes one well-formed frame available in a fresh packed transmit queue and waits until
// ringlane has used it.
bool packed_transmit_served(const HostileMemory& mem, const Session& s) {
  mem.publish_packed(1, 0, {{kFrame, 100, 0, HostileMemory::avail_flags(true)}});
  kick(s, 1);
  return await_packed_used(mem, 1, 0, 1, true);
}

// What a packed set-up case got: the replies to the bad value and to the good one after it,
// whether the transmit queue was served, and the device status after all (nullopt: no answer).
struct PackedSetupOutcome {
  std::optional<uint64_t> refused;
  std::optional<uint64_t> restored;
  bool served = false;
  std::optional<uint64_t> status;

  bool expected() const {
    return refused && *refused != 0 && restored && *restored == 0 && served && status &&
           !(*status & virtio::kStatusNeedsReset);
  }
  std::string describe() const {
    auto reply = [](const std::optional<uint64_t>& r) {
      return !r ? std::string("none") : *r != 0 ? std::string("refused") : std::string("accepted");
    };
    return "bad value " + reply(refused) + ", good value " + reply(restored) + ", transmit queue " +
           (served ? "served" : "NOT served") + ", connection " + (status ? "kept" : "dropped") +
           (status && (*status & virtio::kStatusNeedsReset) ? ", NEEDS_RESET" : "");
  }
};

// On a connection set up with REPLY_ACK and packed rings: a value for the receive queue (0)
// ringlane must refuse to start a ring with, then the well-formed one.
PackedSetupOutcome packed_setup_attack(Session& s, const HostileMemory& mem,
                                       const std::string& which) {
  PackedSetupOutcome out;
  if (which == "packed_base_wraps" || which == "packed_base_range") {
    // Wraps: avail 5 in lap 1, used 5 in lap 0 (the used side a lap ahead). Range: both at
    // 300 of a 256-descriptor ring.
    uint32_t bad =
        which == "packed_base_wraps" ? 5u | 1u << 15 | 5u << 16 : (300u | 1u << 15) * 0x10001u;
    VringState state{0, bad}, good{0, kPackedStart};
    out.refused = s.acked(Request::set_vring_base, &state, sizeof(state));
    if (out.refused) out.restored = s.acked(Request::set_vring_base, &good, sizeof(good));
  } else {
    VringAddr addr = mem.ring_addr(0);
    if (which == "packed_driver_event_oob") {
      addr.avail_user_addr = mem.uaddr(kMemSize);
    } else if (which == "packed_device_event_oob") {
      addr.used_user_addr = 0xdead0000;
    } else {
      // A ring of 256 descriptors from 100 descriptors before the end.
      addr.desc_user_addr = mem.uaddr(kMemSize - uint64_t{16} * 100);
    }
    VringAddr good = mem.ring_addr(0);
    out.refused = s.acked(Request::set_vring_addr, &addr, sizeof(addr));
    if (out.refused) out.restored = s.acked(Request::set_vring_addr, &good, sizeof(good));
  }
  out.served = out.restored && packed_transmit_served(mem, s);
  out.status = s.status();
  return out;
}

bool is_known_case(const std::string& which) {
  return is_ring_case(which) || is_packed_ring_case(which) || is_packed_setup_case(which) ||
         which == "ring_outside_table" || which == "oversized";
}

// Plays one case on a connection set up for it: 0 as expected, 1 not.
int play_case(Session& s, const HostileMemory& mem, const std::string& which) {
  if (is_packed_ring_case(which)) {
    std::string error;
    if (!write_packed_attack(mem, s, which, error)) die(error);
    auto status = status_after_attack(s, mem, which);
    if (!status) die(s.error());
    bool needs_reset = (*status & virtio::kStatusNeedsReset) != 0;
    std::printf("case %s: status 0x%llx%s\n", which.c_str(),
                static_cast<unsigned long long>(*status), needs_reset ? " NEEDS_RESET" : "");
    return needs_reset ? 0 : 1;
  }
  if (is_packed_setup_case(which)) {
    PackedSetupOutcome out = packed_setup_attack(s, mem, which);
    std::printf("case %s: %s\n", which.c_str(), out.describe().c_str());
    return out.expected() ? 0 : 1;
  }

  if (is_ring_case(which)) {
    write_ring_attack(mem, which);
    auto status = status_after_attack(s, mem, which);
    if (!status) die(s.error());
    bool needs_reset = (*status & virtio::kStatusNeedsReset) != 0;
    std::printf("case %s: status 0x%llx%s\n", which.c_str(),
                static_cast<unsigned long long>(*status), needs_reset ? " NEEDS_RESET" : "");
    return ring_attack_expected(which, *status) ? 0 : 1;
  }
  if (which == "ring_outside_table") {
    VringAddr addr = outside_table(mem, 0, 0);
    auto refused = s.acked(Request::set_vring_addr, &addr, sizeof(addr));
    if (!refused) die(s.error());
    bool served = transmit_queue_served(mem, 1);
    auto status = s.status();
    bool alive = status.has_value();
    bool needs_reset = alive && (*status & virtio::kStatusNeedsReset);
    std::printf("case %s: reply %llu (%s), transmit queue %s, connection %s%s\n", which.c_str(),
                static_cast<unsigned long long>(*refused), *refused ? "refused" : "accepted",
                served ? "served" : "NOT served", alive ? "kept" : "dropped",
                needs_reset ? ", NEEDS_RESET" : "");
    return *refused != 0 && served && alive && !needs_reset ? 0 : 1;
  }
  if (which == "oversized") {
    bool served = transmit_queue_served(mem, 1);
    std::vector<uint8_t> payload(64 << 10, 0x5a);
    MessageHeader header{static_cast<uint32_t>(Request::set_vring_num), kVersion,
                         static_cast<uint32_t>(payload.size())};
    s.send_raw(header, payload.data(), payload.size());
    bool dropped = s.await_close();
    std::printf("case %s: transmit queue %s before, connection %s\n", which.c_str(),
                served ? "served" : "NOT served", dropped ? "dropped" : "kept");
    return served && dropped ? 0 : 1;
  }
  die("unknown case " + which);
}

// Each case on a fresh connection, closed (ringlane's end too) before the next one.
int run_cases(const std::string& path, const std::vector<std::string>& cases) {
  for (const std::string& which : cases) {
    if (!is_known_case(which)) die("unknown case " + which);
  }
  int rc = 0;
  for (const std::string& which : cases) {
    HostileMemory mem;
    mem.reset();
    std::string error;
    auto s = Session::open(path, error);
    if (!s) die(error);
    bool ack = which == "ring_outside_table" || is_packed_setup_case(which);
    bool packed = is_packed_ring_case(which) || is_packed_setup_case(which);
    if (!s->set_up(mem, ack, packed)) die(which + ": set-up: " + s->error());
    if (play_case(*s, mem, which) != 0) rc = 1;
    if (!s->close()) {
      std::printf("case %s: %s\n", which.c_str(), s->error().c_str());
      rc = 1;
    }
    std::fflush(stdout);
  }
  return rc;
}

// --- loop mode ----------------------------------------------------------------------------

struct LoopCounts {
  uint64_t cycles = 0;
  uint64_t connections = 0;
  uint64_t setup_failures = 0;
  uint64_t ring_attacks = 0;
  uint64_t ring_expected = 0;
  uint64_t packed_attacks = 0;
  uint64_t packed_expected = 0;
  uint64_t kicks = 0;
  uint64_t invalid_sent = 0;
  uint64_t invalid_refused = 0;
  uint64_t valid_sent = 0;  // well-formed messages between invalid ones (ring addresses back)
  uint64_t dropping_sent = 0;
  uint64_t dropped = 0;
  uint64_t unexpected = 0;
};

class Loop {
 public:
  // Which attacks a cycle plays: bits of kRing, kPacked, kKicks, kInvalid, kDropping.
  static constexpr unsigned kRing = 1, kKicks = 2, kInvalid = 4, kDropping = 8, kPacked = 16,
                            kAll = 31;

  Loop(std::string path, int flood_ms, unsigned attacks)
      : path_(std::move(path)), flood_ms_(flood_ms), attacks_(attacks) {}

  const LoopCounts& counts() const { return counts_; }
  bool reached() const { return reached_; }

  void cycle() {
    if (attacks_ & kRing) {
      for (const char* which : kRingCases) {
        if (g_stop) return;
        ring_attack(which);
      }
    }
    if (attacks_ & kPacked) {
      for (const char* which : kPackedRingCases) {
        if (g_stop) return;
        packed_ring_attack(which);
      }
      for (const char* which : kPackedSetupCases) {
        if (g_stop) return;
        packed_setup(which);
      }
    }
    if ((attacks_ & kKicks) && !g_stop) kick_flood();
    if ((attacks_ & kInvalid) && !g_stop) invalid_flood();
    if (attacks_ & kDropping) {
      for (int kind = 0; kind < kDroppingKinds && !g_stop; ++kind) dropping(kind);
    }
    ++counts_.cycles;
  }

 private:
  static constexpr int kDroppingKinds = 8;

  void unexpected(const std::string& what) {
    ++counts_.unexpected;
    if (reported_++ < 10) std::fprintf(stderr, "hostile_frontend: unexpected: %s\n", what.c_str());
  }

  // A fresh connection with the device set up; nullopt (counted) when that failed.
  std::optional<Session> connect(bool reply_ack, bool packed = false) {
    mem_.reset();
    std::string error;
    auto s = Session::open(path_, error);
    if (!s) {
      ++counts_.setup_failures;
      unexpected("connect: " + error);
      return std::nullopt;
    }
    reached_ = true;
    ++counts_.connections;
    if (!s->set_up(mem_, reply_ack, packed)) {
      ++counts_.setup_failures;
      unexpected("set-up: " + s->error());
      s->close();
      return std::nullopt;
    }
    return s;
  }

  void finish(Session& s) {
    if (!s.close()) unexpected(s.error());
  }

  void ring_attack(const std::string& which) {
    auto s = connect(false);
    if (!s) return;
    write_ring_attack(mem_, which);
    ++counts_.ring_attacks;
    auto status = status_after_attack(*s, mem_, which);
    if (status && ring_attack_expected(which, *status)) {
      ++counts_.ring_expected;
    } else {
      unexpected("ring case " + which + ": " +
                 (status ? "status " + std::to_string(*status) : s->error()));
    }
    finish(*s);
  }

  void packed_ring_attack(const std::string& which) {
    auto s = connect(false, true);
    if (!s) return;
    ++counts_.packed_attacks;
    std::string error;
    if (!write_packed_attack(mem_, *s, which, error)) {
      unexpected(which + ": " + error);
      finish(*s);
      return;
    }
    auto status = status_after_attack(*s, mem_, which);
    if (status && (*status & virtio::kStatusNeedsReset)) {
      ++counts_.packed_expected;
    } else {
      unexpected(which + ": " + (status ? "status " + std::to_string(*status) : s->error()));
    }
    finish(*s);
  }

  void packed_setup(const std::string& which) {
    auto s = connect(true, true);
    if (!s) return;
    ++counts_.packed_attacks;
    PackedSetupOutcome out = packed_setup_attack(*s, mem_, which);
    if (out.expected()) {
      ++counts_.packed_expected;
    } else {
      unexpected(which + ": " + out.describe());
    }
    finish(*s);
  }

  void kick_flood() {
    auto s = connect(false);
    if (!s) return;
    auto until = Clock::now() + milliseconds(flood_ms_);
    uint64_t one = 1;
    do {
      for (int i = 0; i < 256; ++i) {
        if (::write(s->kick(i & 1), &one, sizeof(one)) == sizeof(one)) ++counts_.kicks;
      }
    } while (Clock::now() < until && !g_stop);
    finish(*s);
  }

  // One invalid message with NEED_REPLY: ringlane must answer with a failure.
  void refuse(Session& s, const std::string& what, Request r, const void* payload, uint32_t size,
              const int* fds = nullptr, size_t nfds = 0) {
    ++counts_.invalid_sent;
    auto result = s.acked(r, payload, size, fds, nfds);
    if (result && *result != 0) {
      ++counts_.invalid_refused;
    } else {
      unexpected(what + ": " + (result ? "accepted" : s.error()));
    }
  }

  void accept(Session& s, const std::string& what, Request r, const void* payload, uint32_t size) {
    ++counts_.valid_sent;
    auto result = s.acked(r, payload, size);
    if (!result || *result != 0) unexpected(what + ": " + (result ? "refused" : s.error()));
  }

  // Every kind of invalid message, then again, for flood_ms; on one connection with REPLY_ACK.
  void invalid_flood() {
    auto s = connect(true);
    if (!s) return;
    auto until = Clock::now() + milliseconds(flood_ms_);
    int round = 0;
    do {
      uint64_t before = counts_.unexpected;
      invalid_round(*s, round++);
      if (counts_.unexpected != before) break;  // the connection may be gone
    } while (Clock::now() < until && !g_stop);
    finish(*s);
  }

  void invalid_round(Session& s, int round) {
    uint64_t u64 = 0;
    uint8_t zeros[64] = {};
    refuse(s, "request code 0", static_cast<Request>(0), nullptr, 0);
    refuse(s, "request code 99", static_cast<Request>(99), &u64, 8);
    refuse(s, "request code 0xffffffff", static_cast<Request>(0xffffffffu), nullptr, 0);
    refuse(s, "VRING_KICK (unsupported)", Request::vring_kick, &u64, 8);
    refuse(s, "SET_LOG_BASE (unsupported)", Request::set_log_base, &u64, 8);
    refuse(s, "SET_FEATURES of 4 bytes", Request::set_features, &u64, 4);
    refuse(s, "SET_VRING_NUM of 16 bytes", Request::set_vring_num, zeros, 16);
    refuse(s, "SET_VRING_ADDR of 8 bytes", Request::set_vring_addr, zeros, 8);
    refuse(s, "GET_FEATURES with a payload", Request::get_features, &u64, 8);
    int extra[2] = {s.kick(0), s.kick(1)};
    refuse(s, "SET_FEATURES with 2 fds", Request::set_features, &u64, 8, extra, 2);
    uint64_t index0 = 0;
    refuse(s, "SET_VRING_KICK without its fd", Request::set_vring_kick, &index0, 8);
    refuse(s, "SET_VRING_CALL with 2 fds", Request::set_vring_call, &index0, 8, extra, 2);
    uint64_t unknown_bits = 0x1000;
    refuse(s, "SET_VRING_ERR with unknown bits", Request::set_vring_err, &unknown_bits, 8);
    VringState not_pow2{1, 1000}, too_big{1, 65536}, out_of_range{40, kQueueSize}, bad_enable{1, 7},
        base_too_big{1, 0x10000};
    refuse(s, "SET_VRING_NUM 1000", Request::set_vring_num, &not_pow2, sizeof(not_pow2));
    refuse(s, "SET_VRING_NUM 65536", Request::set_vring_num, &too_big, sizeof(too_big));
    refuse(s, "SET_VRING_NUM of vring 40", Request::set_vring_num, &out_of_range,
           sizeof(out_of_range));
    refuse(s, "SET_VRING_ENABLE 7", Request::set_vring_enable, &bad_enable, sizeof(bad_enable));
    refuse(s, "SET_VRING_BASE beyond 16 bits", Request::set_vring_base, &base_too_big,
           sizeof(base_too_big));
    uint64_t not_offered = uint64_t{1} << 63;
    refuse(s, "SET_FEATURES not offered", Request::set_features, &not_offered, 8);
    refuse(s, "SET_PROTOCOL_FEATURES not offered", Request::set_protocol_features, &not_offered, 8);
    uint64_t mtu = 10;
    refuse(s, "NET_SET_MTU 10", Request::net_set_mtu, &mtu, 8);
    int mem_fd = mem_.fd();
    struct {
      uint32_t n, pad;
      RegionDescriptor r;
    } past_eof{1, 0, {0, uint64_t{1} << 30, mem_.uaddr(0), 0}},
        nine_regions{9, 0, {0, kMemSize, mem_.uaddr(0), 0}};
    refuse(s, "SET_MEM_TABLE past the end of its file", Request::set_mem_table, &past_eof,
           sizeof(past_eof), &mem_fd, 1);
    refuse(s, "SET_MEM_TABLE of 9 regions", Request::set_mem_table, &nine_regions,
           sizeof(nine_regions), &mem_fd, 1);
    struct {
      uint64_t pad;
      RegionDescriptor r;
    } add_past_eof{0, {0x10000000, kMemSize, mem_.uaddr(kMemSize), kMemSize}},
        rem_unknown{0, {0x20000000, 4096, 0x1000, 0}};
    refuse(s, "ADD_MEM_REG past the end of its file", Request::add_mem_reg, &add_past_eof,
           sizeof(add_past_eof), &mem_fd, 1);
    refuse(s, "REM_MEM_REG of no region", Request::rem_mem_reg, &rem_unknown, sizeof(rem_unknown));
    // Ring addresses outside the memory table, on a live queue: ringlane stops the queue (a
    // grace period) before it finds out; the well-formed address after it restarts the queue.
    for (uint32_t q = 0; q < 2; ++q) {
      VringAddr bad = outside_table(mem_, q, round + static_cast<int>(q));
      refuse(s, "SET_VRING_ADDR outside the memory table", Request::set_vring_addr, &bad,
             sizeof(bad));
      VringAddr good = mem_.ring_addr(q);
      accept(s, "SET_VRING_ADDR back inside", Request::set_vring_addr, &good, sizeof(good));
    }
  }

  // One message after which ringlane must drop the connection.
  void dropping(int kind) {
    auto s = connect(false);
    if (!s) return;
    ++counts_.dropping_sent;
    std::string what;
    bool dropped = false;
    uint64_t u64 = 0;
    switch (kind) {
      case 0: {
        what = "payload of 64 KiB";
        std::vector<uint8_t> payload(64 << 10, 0x5a);
        MessageHeader h{static_cast<uint32_t>(Request::set_vring_num), kVersion,
                        static_cast<uint32_t>(payload.size())};
        s->send_raw(h, payload.data(), payload.size());
        break;
      }
      case 1: {
        what = "12 fds";
        int fds[12];
        for (int& f : fds) f = s->kick(0);
        MessageHeader h{static_cast<uint32_t>(Request::set_vring_call), kVersion, 8};
        s->send_raw(h, &u64, 8, fds, 12);
        break;
      }
      case 2: {
        what = "version 2";
        MessageHeader h{static_cast<uint32_t>(Request::get_features), 0x2, 0};
        s->send_raw(h, nullptr, 0);
        break;
      }
      case 3:
        what = "request code 99 without REPLY_ACK";
        s->send(static_cast<Request>(99), 0, nullptr, 0);
        break;
      case 4: {
        what = "ring addresses outside the memory table without REPLY_ACK";
        VringAddr bad = outside_table(mem_, 1, static_cast<int>(counts_.cycles));
        s->send(Request::set_vring_addr, 0, &bad, sizeof(bad));
        break;
      }
      case 5: {
        what = "a memory region past the end of its file";
        int mem_fd = mem_.fd();
        struct {
          uint32_t n, pad;
          RegionDescriptor r;
        } table{1, 0, {0, uint64_t{1} << 30, mem_.uaddr(0), 0}};
        s->send(Request::set_mem_table, 0, &table, sizeof(table), &mem_fd, 1);
        break;
      }
      case 6: {
        what = "a truncated message";
        MessageHeader h{static_cast<uint32_t>(Request::set_vring_addr), kVersion,
                        sizeof(VringAddr)};
        s->send_raw(h, &u64, 8);
        ::shutdown(s->fd(), SHUT_WR);
        break;
      }
      default: {
        what = "a second frontend";
        std::string error;
        auto second = Session::open(path_, error);
        if (!second) {
          unexpected("second frontend: connect: " + error);
          finish(*s);
          return;
        }
        dropped = second->await_close();
        if (dropped) {
          ++counts_.dropped;
        } else {
          unexpected("a second frontend was not turned away");
        }
        finish(*s);
        return;
      }
    }
    dropped = s->await_close();
    if (dropped) {
      ++counts_.dropped;
    } else {
      unexpected("connection kept after " + what);
      s->close();
    }
  }

  std::string path_;
  int flood_ms_;
  unsigned attacks_;
  HostileMemory mem_;
  LoopCounts counts_;
  bool reached_ = false;
  int reported_ = 0;
};

void on_signal(int) {
  g_stop = 1;
}

int run_loop(const std::string& path, double seconds, int flood_ms, int pause_ms, double rate,
             unsigned attacks) {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  auto start = Clock::now();
  auto end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  Loop loop(path, flood_ms, attacks);
  for (uint64_t n = 1; Clock::now() < end && !g_stop; ++n) {
    loop.cycle();
    if (!loop.reached()) break;
    if (pause_ms > 0) std::this_thread::sleep_for(milliseconds(pause_ms));
    // A fixed cycle rate: the n+1th cycle starts no earlier than n / rate seconds in.
    if (rate > 0) {
      std::this_thread::sleep_until(
          std::min(end, start + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(static_cast<double>(n) / rate))));
    }
  }
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
               static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  const LoopCounts& c = loop.counts();
  std::printf(
      "hostile_frontend loop: seconds=%.2f cycles=%llu connections=%llu setup_failures=%llu "
      "ring_attacks=%llu ring_expected=%llu packed_attacks=%llu packed_expected=%llu kicks=%llu "
      "invalid_sent=%llu invalid_refused=%llu "
      "valid_sent=%llu dropping_sent=%llu dropped=%llu unexpected=%llu cpu_seconds=%.3f\n",
      elapsed, static_cast<unsigned long long>(c.cycles),
      static_cast<unsigned long long>(c.connections),
      static_cast<unsigned long long>(c.setup_failures),
      static_cast<unsigned long long>(c.ring_attacks),
      static_cast<unsigned long long>(c.ring_expected),
      static_cast<unsigned long long>(c.packed_attacks),
      static_cast<unsigned long long>(c.packed_expected), static_cast<unsigned long long>(c.kicks),
      static_cast<unsigned long long>(c.invalid_sent),
      static_cast<unsigned long long>(c.invalid_refused),
      static_cast<unsigned long long>(c.valid_sent),
      static_cast<unsigned long long>(c.dropping_sent), static_cast<unsigned long long>(c.dropped),
      static_cast<unsigned long long>(c.unexpected), cpu);
  std::fflush(stdout);
  if (!loop.reached()) return 2;
  return c.unexpected == 0 ? 0 : 1;
}

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: hostile_frontend SOCKET CASE [CASE...]\n"
               "       hostile_frontend SOCKET --loop SECONDS [--flood-ms N] [--pause-ms N]\n"
               "                        [--rate CYCLES_PER_SECOND]\n"
               "                        [--attacks ring,packed,kicks,invalid,dropping]\n"
               "       hostile_frontend SOCKET --pair OTHER_SOCKET FRAMES [IDLE_MS]\n"
               "cases: loop oob avail_jump nested_indirect len_overflow bad_head "
               "bad_csum_start ring_outside_table oversized\n");
  std::fprintf(stderr, "       ");
  for (const char* c : kPackedRingCases) std::fprintf(stderr, " %s", c);
  for (const char* c : kPackedSetupCases) std::fprintf(stderr, " %s", c);
  std::fprintf(stderr, "\n");
  std::exit(2);
}

int run_pair(const std::string& from, const std::string& to, uint32_t frames, int idle_ms) {
  HostileMemory tx_mem, rx_mem;
  tx_mem.reset();
  rx_mem.reset();
  std::string error;
  auto sender = Session::open(from, error);
  if (!sender) die("connect " + from + ": " + error);
  auto receiver = Session::open(to, error);
  if (!receiver) die("connect " + to + ": " + error);
  if (!sender->set_up(tx_mem, false)) die(from + ": " + sender->error());
  if (!receiver->set_up(rx_mem, false)) die(to + ": " + receiver->error());
  // Receive buffers (queue 0): one 2 KiB buffer per slot, all offered at once.
  constexpr uint32_t kBuffer = 2048;
  virtio::VringAvail* rx_avail = rx_mem.avail_ring(0);
  for (uint16_t i = 0; i < kQueueSize; ++i) {
    rx_mem.table(0)[i] = {kFrame + uint64_t{i} * kBuffer, kBuffer, virtio::kDescFWrite, 0};
    rx_avail->ring[i] = i;
  }
  __atomic_store_n(&rx_avail->idx, static_cast<uint16_t>(kQueueSize), __ATOMIC_RELEASE);
  uint64_t one = 1;
  (void)!::write(receiver->kick(0), &one, sizeof(one));
  // Frames (queue 1): a 12-byte header and 100 bytes, the same buffer each time.
  tx_mem.table(1)[0] = {kFrame, 112, 0, 0};
  auto deadline = Clock::now() + milliseconds(5000);
  uint32_t sent = 0;
  std::vector<double> latencies_us;
  if (idle_ms > 0) deadline = Clock::now() + milliseconds(5000 + frames * (idle_ms + 100));
  while (sent < frames && Clock::now() < deadline) {
    // Latency mode: the frame comes after a quiet spell, and its trip to the receiver is timed
    // by busy-polling the receive ring.
    if (idle_ms > 0) std::this_thread::sleep_for(milliseconds(idle_ms));
    auto start = Clock::now();
    // One frame in flight at a time: its buffer is reused once the used ring gives it back.
    tx_mem.avail_ring(1)->ring[sent % kQueueSize] = 0;
    __atomic_store_n(&tx_mem.avail_ring(1)->idx, static_cast<uint16_t>(sent + 1), __ATOMIC_RELEASE);
    (void)!::write(sender->kick(1), &one, sizeof(one));
    if (idle_ms > 0) {
      while (rx_mem.used_idx(0) != static_cast<uint16_t>(sent + 1) && Clock::now() < deadline) {
      }
      latencies_us.push_back(
          std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    }
    while (tx_mem.used_idx(1) != static_cast<uint16_t>(sent + 1) && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    ++sent;
  }
  if (!latencies_us.empty()) {
    std::sort(latencies_us.begin(), latencies_us.end());
    auto at = [&](double q) {
      return latencies_us[static_cast<size_t>(q * (latencies_us.size() - 1))];
    };
    std::printf("latency_us p50=%.1f p90=%.1f max=%.1f\n", at(0.5), at(0.9), latencies_us.back());
  }
  while (rx_mem.used_idx(0) < std::min(frames, kQueueSize) && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  uint16_t arrived = rx_mem.used_idx(0);
  std::printf("sent=%u arrived=%u\n", sent, arrived);
  std::fflush(stdout);
  if (arrived < std::min(frames, kQueueSize)) return 1;
  // Connected until ringlane lets go: the port removed under a connected driver closes both.
  bool closed = sender->await_close(30000) && receiver->await_close(30000);
  std::printf("%s\n", closed ? "closed" : "still open");
  return closed ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  if (argc < 3) usage();
  std::string path = argv[1];
  if (std::string(argv[2]) == "--pair") {
    if (argc != 5 && argc != 6) usage();
    int idle_ms = argc == 6 ? std::atoi(argv[5]) : 0;
    return run_pair(path, argv[3], static_cast<uint32_t>(std::strtoul(argv[4], nullptr, 10)),
                    idle_ms);
  }
  if (std::string(argv[2]) != "--loop") {
    return run_cases(path, std::vector<std::string>(argv + 2, argv + argc));
  }
  if (argc < 4) usage();
  char* end = nullptr;
  double seconds = std::strtod(argv[3], &end);
  if (*end != '\0' || !(seconds > 0)) usage();
  int flood_ms = 20, pause_ms = 0;
  double rate = 0;
  unsigned attacks = Loop::kAll;
  for (int i = 4; i < argc; i += 2) {
    std::string option = argv[i];
    if (i + 1 >= argc) usage();
    if (option == "--attacks") {
      attacks = 0;
      std::string list = std::string(argv[i + 1]) + ",";
      for (size_t at = 0, comma; (comma = list.find(',', at)) != std::string::npos;
           at = comma + 1) {
        std::string name = list.substr(at, comma - at);
        if (name == "ring") {
          attacks |= Loop::kRing;
        } else if (name == "packed") {
          attacks |= Loop::kPacked;
        } else if (name == "kicks") {
          attacks |= Loop::kKicks;
        } else if (name == "invalid") {
          attacks |= Loop::kInvalid;
        } else if (name == "dropping") {
          attacks |= Loop::kDropping;
        } else {
          usage();
        }
      }
      if (attacks == 0) usage();
      continue;
    }
    if (option == "--rate") {
      rate = std::strtod(argv[i + 1], &end);
      if (*end != '\0' || rate < 0) usage();
      continue;
    }
    int value = std::atoi(argv[i + 1]);
    if (value < 0) usage();
    if (option == "--flood-ms") {
      flood_ms = value;
    } else if (option == "--pause-ms") {
      pause_ms = value;
    } else {
      usage();
    }
  }
  return run_loop(path, seconds, flood_ms, pause_ms, rate, attacks);
}
