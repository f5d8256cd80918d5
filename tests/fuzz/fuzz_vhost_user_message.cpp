// Fuzzes the vhost-user control path as a hostile frontend would drive it: the input is a
// sequence of records that send messages (with fds) or raw bytes over a real socketpair to a
// NetDevice or a BlkDevice, or write into the guest memory both sides share. Every message is
// also checked with validate() directly. After each handled message the data path runs on
// whatever queues are live: a NetDevice forwards the guest's TX queue into its own RX queue
// (split or packed rings, as the features say: a NetDevice offers VIRTIO_F_RING_PACKED); a
// BlkDevice serves its queues through an io_uring on a 1 MiB memfd image, and every request it
// started has completed before the next message is handled (the stop path waits for in-flight
// I/O, which nobody but this loop would ever complete).
//
// The first byte chooses the device: bit 0 = BlkDevice (else NetDevice); for a BlkDevice,
// bit 1 = read-only image, bit 2 = buffered I/O only (otherwise O_DIRECT where the store takes
// it: memfds do since Linux 6.6), bit 3 = no DISCARD/WRITE_ZEROES. Then records: a control byte,
// then
//   0b0Nkkffff: a message: [u16 if kk = 10] [u8 if N], a 12-byte header, then
//               min(size, rest) payload bytes. ffff = fd count (0-8); kk = what each fd is:
//               00 the guest memfd, 01 an eventfd, 10 a fresh memfd of u16 x 64 bytes, 11 the
//               far end of the backend-request socket (SET_BACKEND_REQ_FD). N: once the message
//               is handled, the configuration changes: a BlkDevice's image is resized to
//               (u8 + 1) x 8 KiB, and the frontend is told (notify_config_change).
//   0b10xxxxxx: raw bytes: one length byte, then that many bytes written to the socket as is
//   0b11xxxxxx: guest memory write: u16 offset (x 8), one length byte, then the bytes
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ringlane/blk/blk_device.h"
#include "ringlane/blk/disk_image.h"
#include "ringlane/blk/disk_queue.h"
#include "ringlane/blk/io_ring.h"
#include "ringlane/net/rx.h"
#include "ringlane/net/tx.h"
#include "ringlane/vhost_user/message.h"
#include "ringlane/vhost_user/message_channel.h"
#include "ringlane/vhost_user/net_device.h"

namespace {

using namespace ringlane;
using namespace ringlane::vhost_user;
using namespace ringlane::virtio;
using namespace ringlane::net;

constexpr size_t kMemorySize = size_t{512} * 1024;
constexpr off_t kImageSize = 1 << 20;
constexpr uint16_t kDiskQueues = 2;
// Small enough to fill: a poll stops taking requests once fewer than kMaxOpsPerRequest entries
// are free, and the next round takes the rest.
constexpr unsigned kRingEntries = 128;
// Poll rounds per message: bounds the work one message can cause on a ring of 32768 entries.
constexpr int kDiskRounds = 16;

enum Selector : uint8_t {
  kSelectBlk = 1,
  kSelectReadonly = 2,
  kSelectBuffered = 4,
  kSelectNoDiscard = 8,
};

enum FdKind : uint8_t { kGuestMemfd = 0, kEventfd = 1, kFreshMemfd = 2, kBackendSocket = 3 };

class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  size_t left() const { return size_ - pos_; }
  uint8_t u8() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint16_t u16() { return static_cast<uint16_t>(u8() | u8() << 8); }
  const uint8_t* take(size_t len) {
    const uint8_t* p = data_ + pos_;
    pos_ += std::min(len, left());
    return p;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

bool send_all(int fd, const uint8_t* bytes, size_t len, const std::vector<int>& fds) {
  iovec iov{const_cast<uint8_t*>(bytes), len};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerMessage)]{};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (!fds.empty()) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  return ::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT) == static_cast<ssize_t>(len);
}

// Reads and discards whatever the backend sent (fds that came along are closed by the kernel).
void drain_replies(int fd) {
  uint8_t buf[8192];
  while (::recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0) {
  }
}

class Session {
 public:
  explicit Session(uint8_t selector)
      : memfd_(::memfd_create("fuzz-guest", MFD_CLOEXEC)),
        eventfd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (::ftruncate(memfd_.get(), kMemorySize) != 0) memfd_.reset();
    // Nonblocking: the backend's notifications must never block it, even if never drained.
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0) {
      backend_near_.reset(sv[0]);
      backend_far_.reset(sv[1]);
    }
    if (selector & kSelectBlk) {
      open_disk(selector);
    } else {
      net_ = std::make_unique<NetDevice>(NetDeviceConfig{"fuzz", 2, 0}, nullptr);
      device_ = net_.get();
    }
    connect();
  }
  ~Session() {
    if (device_ != nullptr) device_->disconnect();
  }

  bool ready() const {
    return memfd_.valid() && eventfd_.valid() && backend_far_.valid() && device_ != nullptr &&
           channel_.has_value();
  }
  int memfd() const { return memfd_.get(); }
  int eventfd() const { return eventfd_.get(); }
  int backend_socket() const { return backend_far_.get(); }
  int front() const { return front_.get(); }

  // Lets the backend take every complete message; false once the connection is gone.
  bool pump() {
    for (int budget = 0; budget < 64; ++budget) {
      auto message = channel_->receive();
      if (!message.ok()) return false;
      if (!message->has_value()) return true;
      Status s = device_->handle(**message, *channel_);
      drain_replies(front_.get());
      if (!s.ok()) {
        // As the endpoint does: drop the frontend, then let a new one connect.
        device_->disconnect();
        connect();
        return true;
      }
      run_data_path();
    }
    return true;
  }

  // What the daemon does when an image was resized (SIGUSR1), live queues and all: the new
  // capacity, then the frontend is told. `size_byte` picks the size. A NetDevice has no
  // configuration space, so telling its frontend must fail, harmlessly.
  void change_config(uint8_t size_byte) {
    if (blk_) {
      off_t size = (off_t{size_byte} + 1) * 8192;
      if (::ftruncate(image_memfd_.get(), size) == 0 && image_->refresh_size().ok()) {
        blk_->set_capacity(image_->capacity_sectors());
      }
    }
    (void)device_->notify_config_change();
    drain_replies(backend_near_.get());
  }

 private:
  void open_disk(uint8_t selector) {
    image_memfd_.reset(::memfd_create("fuzz-disk", MFD_CLOEXEC));
    if (!image_memfd_.valid() || ::ftruncate(image_memfd_.get(), kImageSize) != 0) return;
    blk::DiskImageOptions options;
    // The daemon opens images by path; /proc/self/fd reopens the memfd as a file of its own.
    options.path = "/proc/self/fd/" + std::to_string(image_memfd_.get());
    options.readonly = (selector & kSelectReadonly) != 0;
    if (selector & kSelectBuffered) options.direct = false;
    auto image = blk::DiskImage::open(options);
    if (!image.ok()) {
      std::fprintf(stderr, "fuzz_vhost_user_message: %s\n", image.error().to_string().c_str());
      std::abort();  // the harness is broken, not the input: say so instead of fuzzing nothing
    }
    image_ = std::make_unique<blk::DiskImage>(std::move(*image));
    auto ring = blk::IoRing::create(kRingEntries);
    if (!ring.ok()) {
      std::fprintf(stderr, "fuzz_vhost_user_message: %s\n", ring.error().to_string().c_str());
      std::abort();
    }
    ring_ = std::move(*ring);
    blk::BlkDeviceConfig config{"fuzz", kDiskQueues, (selector & kSelectNoDiscard) == 0};
    // No fixed files (-1): the ring has none registered, requests name the image's fds.
    blk_ = std::make_unique<blk::BlkDevice>(config, *image_, -1, nullptr);
    device_ = blk_.get();
  }

  void connect() {
    int sv[2];
    channel_.reset();
    front_.reset();
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) return;
    front_.reset(sv[0]);
    channel_.emplace(UniqueFd(sv[1]));
  }

  // What a worker does between control messages.
  void run_data_path() {
    if (net_) forward_packets();
    if (blk_) serve_disk();
    uint64_t drained;
    [[maybe_unused]] auto n = ::read(eventfd_.get(), &drained, sizeof(drained));
    // A call fd may be the backend-request socket too.
    drain_replies(backend_near_.get());
  }

  // The guest's transmissions come back to it, on the queues of the ring kind negotiated (as
  // VhostNetPort chooses them); the other kind's queues must all be stopped.
  void forward_packets() {
    bool packed = net_->ring_packed();
    for (uint16_t pair = 0; pair < net_->max_queue_pairs(); ++pair) {
      if (packed) {
        if (net_->tx_queue(pair).live() || net_->rx_queue(pair).live()) __builtin_trap();
        forward_pair(net_->tx_packed(pair), net_->rx_packed(pair));
        const PackedQueue& tx = net_->tx_packed(pair);
        PackedPosition p = tx.position();
        if (tx.live() && (p.avail_idx >= tx.size() || p.used_idx >= tx.size())) __builtin_trap();
      } else {
        if (net_->tx_packed(pair).live() || net_->rx_packed(pair).live()) __builtin_trap();
        forward_pair(net_->tx_queue(pair), net_->rx_queue(pair));
      }
    }
  }

  template <typename Queue>
  void forward_pair(Queue& tx, Queue& rx) {
    if (!tx.serving()) return;
    batch_->clear();
    dequeue_burst(tx, net_->features(), *batch_);
    if (rx.serving() && batch_->count > 0) {
      std::vector<uint16_t> which(batch_->count);
      for (uint16_t i = 0; i < batch_->count; ++i) which[i] = i;
      enqueue_burst(rx, net_->features(), *batch_, which);
    }
    complete_burst(tx, *batch_);
  }

  // Takes the requests the guest made available and carries them out, until a round takes none.
  // Each round ends with nothing in flight, so that a message stopping a queue (which waits for
  // its requests in drain_queues) or replacing memory never finds I/O still under way.
  void serve_disk() {
    for (int round = 0; round < kDiskRounds; ++round) {
      unsigned taken = 0;
      for (uint16_t q = 0; q < blk_->queue_count(); ++q) taken += blk_->disk_queue(q).poll(*ring_);
      settle();
      if (taken == 0) return;
    }
  }

  uint32_t in_flight() const {
    uint32_t n = 0;
    for (uint16_t q = 0; q < blk_->queue_count(); ++q) n += blk_->disk_queue(q).in_flight();
    return n;
  }

  // Submits what the polls queued and reaps until every request has completed, then publishes.
  // I/O on a memfd completes within a few system calls; one that never does would hang the next
  // stop forever, so after a while it is a finding of its own.
  void settle() {
    auto started = std::chrono::steady_clock::now();
    for (unsigned spin = 0; in_flight() > 0; ++spin) {
      int rc = ring_->submit();
      ring_->reap(blk::DiskQueue::complete);
      if (spin < 4096 || in_flight() == 0) continue;
      if (std::chrono::steady_clock::now() - started > std::chrono::seconds(3)) {
        std::fprintf(stderr,
                     "fuzz_vhost_user_message: %u disk requests still in flight after 3 s "
                     "(last submit: %d)\n",
                     in_flight(), rc);
        std::abort();
      }
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    for (uint16_t q = 0; q < blk_->queue_count(); ++q) blk_->disk_queue(q).publish();
  }

  UniqueFd memfd_;
  UniqueFd eventfd_;
  UniqueFd backend_near_;  // the fuzzer's end of the backend-request channel: drained
  UniqueFd backend_far_;   // what SET_BACKEND_REQ_FD hands the backend
  // The image outlives the device that refers to it (members are destroyed in reverse).
  UniqueFd image_memfd_;
  std::unique_ptr<blk::DiskImage> image_;
  std::unique_ptr<blk::IoRing> ring_;
  std::unique_ptr<blk::BlkDevice> blk_;
  std::unique_ptr<NetDevice> net_;
  VhostUserBackend* device_ = nullptr;
  UniqueFd front_;
  std::optional<MessageChannel> channel_;
  std::unique_ptr<PacketBatch> batch_ = std::make_unique<PacketBatch>();
};

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): libFuzzer's name
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Reader in(data, size);
  Session session(in.u8());
  if (!session.ready()) return 0;
  auto message = std::make_unique<Message>();
  while (!in.empty()) {
    uint8_t control = in.u8();
    switch (control >> 6) {
      case 0:
      case 1: {
        auto kind = static_cast<FdKind>(control >> 4 & 3);
        UniqueFd fresh;
        if (kind == kFreshMemfd) {
          off_t bytes = off_t{in.u16()} * 64;
          fresh.reset(::memfd_create("fuzz-fd", MFD_CLOEXEC));
          if (!fresh.valid() || ::ftruncate(fresh.get(), bytes) != 0) return 0;
        }
        std::optional<uint8_t> config_change;
        if (control & 0x40) config_change = in.u8();
        if (in.left() < sizeof(MessageHeader)) return 0;
        const uint8_t* bytes = in.take(sizeof(MessageHeader));
        std::memcpy(&message->header, bytes, sizeof(MessageHeader));
        size_t payload = std::min<size_t>({message->header.size, kMaxPayload, in.left()});
        const uint8_t* body = in.take(payload);
        int fd = kind == kGuestMemfd   ? session.memfd()
                 : kind == kEventfd    ? session.eventfd()
                 : kind == kFreshMemfd ? fresh.get()
                                       : session.backend_socket();
        std::vector<int> fds(std::min<size_t>(control & 0x0f, kMaxFdsPerMessage), fd);
        // validate() on its own first, with the declared size and fd count.
        std::memset(message->payload, 0, sizeof(message->payload));
        std::memcpy(message->payload, body, payload);
        message->fds.clear();
        message->fds.resize(fds.size());  // validate() counts them; none is used
        (void)validate(*message);
        std::vector<uint8_t> wire(bytes, bytes + sizeof(MessageHeader));
        wire.insert(wire.end(), body, body + payload);
        if (!send_all(session.front(), wire.data(), wire.size(), fds)) return 0;
        if (!session.pump()) return 0;
        if (config_change) session.change_config(*config_change);
        continue;
      }
      case 2: {
        size_t len = std::min<size_t>(in.u8(), in.left());
        if (!send_all(session.front(), in.take(len), len, {})) return 0;
        break;
      }
      default: {
        uint64_t offset = uint64_t{in.u16()} * 8 % kMemorySize;
        size_t len = std::min<size_t>({in.u8(), in.left(), kMemorySize - offset});
        const uint8_t* bytes = in.take(len);
        if (::pwrite(session.memfd(), bytes, len, static_cast<off_t>(offset)) < 0) return 0;
        continue;  // nothing for the backend to read
      }
    }
    if (!session.pump()) return 0;
  }
  return 0;
}
