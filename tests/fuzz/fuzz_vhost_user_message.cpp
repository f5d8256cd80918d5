// Fuzzes the vhost-user control path as a hostile frontend would drive it: the input is a
// sequence of records that send messages (with memfd or eventfd fds) or raw bytes over a real
// socketpair to a NetDevice, or write into the guest memory both sides share. Every message is
// also checked with validate() directly. After each handled message the data path runs on
// whatever queues are live, forwarding the guest's TX queue into its own RX queue.
//
// Record: one control byte, then
//   0b00xxxxxx / 0b01xxxxxx: a message: 12-byte header, then min(size, rest) payload bytes;
//                            bits 0-3 = fd count (0-8), bit 4 = eventfds instead of the memfd
//   0b10xxxxxx: raw bytes: one length byte, then that many bytes written to the socket as is
//   0b11xxxxxx: guest memory write: u16 offset (x 8), one length byte, then the bytes
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

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

constexpr size_t kMemorySize = 512 * 1024;

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

// Reads and discards whatever the backend replied.
void drain_replies(int fd) {
  uint8_t buf[8192];
  while (::recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0) {
  }
}

class Session {
 public:
  Session()
      : memfd_(::memfd_create("fuzz-guest", MFD_CLOEXEC)),
        eventfd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
        device_(NetDeviceConfig{"fuzz", 2, 0}, nullptr) {
    if (::ftruncate(memfd_.get(), kMemorySize) != 0) memfd_.reset();
    connect();
  }
  ~Session() { device_.disconnect(); }

  bool ready() const { return memfd_.valid() && eventfd_.valid() && channel_.has_value(); }
  int memfd() const { return memfd_.get(); }
  int eventfd() const { return eventfd_.get(); }
  int front() const { return front_.get(); }

  // Lets the backend take every complete message; false once the connection is gone.
  bool pump() {
    for (int budget = 0; budget < 64; ++budget) {
      auto message = channel_->receive();
      if (!message.ok()) return false;
      if (!message->has_value()) return true;
      Status s = device_.handle(**message, *channel_);
      drain_replies(front_.get());
      if (!s.ok()) {
        // As the endpoint does: drop the frontend, then let a new one connect.
        device_.disconnect();
        connect();
        return true;
      }
      run_data_path();
    }
    return true;
  }

 private:
  void connect() {
    int sv[2];
    channel_.reset();
    front_.reset();
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) return;
    front_.reset(sv[0]);
    channel_.emplace(UniqueFd(sv[1]));
  }

  // What a worker does between control messages: the guest's transmissions come back to it.
  void run_data_path() {
    for (uint16_t pair = 0; pair < device_.max_queue_pairs(); ++pair) {
      SplitQueue& tx = device_.tx_queue(pair);
      SplitQueue& rx = device_.rx_queue(pair);
      if (!tx.serving()) continue;
      batch_->clear();
      dequeue_burst(tx, device_.features(), *batch_);
      if (rx.serving() && batch_->count > 0) {
        std::vector<uint16_t> which(batch_->count);
        for (uint16_t i = 0; i < batch_->count; ++i) which[i] = i;
        enqueue_burst(rx, device_.features(), *batch_, which);
      }
      complete_burst(tx, *batch_);
    }
    uint64_t drained;
    [[maybe_unused]] auto n = ::read(eventfd_.get(), &drained, sizeof(drained));
  }

  UniqueFd memfd_;
  UniqueFd eventfd_;
  NetDevice device_;
  UniqueFd front_;
  std::optional<MessageChannel> channel_;
  std::unique_ptr<PacketBatch> batch_ = std::make_unique<PacketBatch>();
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Session session;
  if (!session.ready()) return 0;
  Reader in(data, size);
  auto message = std::make_unique<Message>();
  while (!in.empty()) {
    uint8_t control = in.u8();
    switch (control >> 6) {
      case 0:
      case 1: {
        if (in.left() < sizeof(MessageHeader)) return 0;
        const uint8_t* bytes = in.take(sizeof(MessageHeader));
        std::memcpy(&message->header, bytes, sizeof(MessageHeader));
        size_t payload = std::min<size_t>({message->header.size, kMaxPayload, in.left()});
        const uint8_t* body = in.take(payload);
        std::vector<int> fds(std::min<size_t>(control & 0x0f, kMaxFdsPerMessage),
                             control & 0x10 ? session.eventfd() : session.memfd());
        // validate() on its own first, with the declared size and fd count.
        std::memset(message->payload, 0, sizeof(message->payload));
        std::memcpy(message->payload, body, payload);
        message->fds.clear();
        message->fds.resize(fds.size());  // validate() counts them; none is used
        (void)validate(*message);
        std::vector<uint8_t> wire(bytes, bytes + sizeof(MessageHeader));
        wire.insert(wire.end(), body, body + payload);
        if (!send_all(session.front(), wire.data(), wire.size(), fds)) return 0;
        break;
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
