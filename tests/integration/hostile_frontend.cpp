// A deliberately hostile vhost-user frontend: it sets up a virtio-net device on ringlane's
// socket like a driver would, then writes one kind of malformed ring into its transmit queue.
// Exit status 0 when ringlane reports NEEDS_RESET (or, for a malformed header, keeps the queue
// alive), 1 otherwise, 2 on set-up failure.
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "ringlane/vhost_user/message.h"
#include "ringlane/vhost_user/unix_socket.h"
#include "ringlane/vhost_user/virtio_spec.h"

using namespace ringlane;
using namespace ringlane::vhost_user;

namespace {

constexpr uint64_t kMemSize = 16 << 20;
constexpr uint32_t kQueueSize = 256;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "hostile_frontend: %s\n", what.c_str());
  std::exit(2);
}

Message await_reply(MessageChannel& ch) {
  for (int i = 0; i < 2000; ++i) {
    auto m = ch.receive();
    if (!m) die("receive: " + m.error().to_string());
    if (m->has_value()) return std::move(**m);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  die("no reply from ringlane");
}

uint64_t get_u64(MessageChannel& ch, Request r) {
  if (!ch.send(r, 0, nullptr, 0).ok()) die("send");
  return await_reply(ch).u64();
}

void send_or_die(MessageChannel& ch, Request r, const void* payload, uint32_t size,
                 const int* fds = nullptr, size_t nfds = 0) {
  if (Status s = ch.send(r, 0, payload, size, fds, nfds); !s.ok()) die(s.error().to_string());
}

struct Layout {
  uint8_t* base;
  uint64_t desc(uint32_t q) const { return 0x1000 + q * 0x10000ull; }
  uint64_t avail(uint32_t q) const { return desc(q) + 16 * kQueueSize; }
  uint64_t used(uint32_t q) const { return desc(q) + 0x8000; }
  virtio::VringDesc* table(uint32_t q) const {
    return reinterpret_cast<virtio::VringDesc*>(base + desc(q));
  }
  virtio::VringAvail* avail_ring(uint32_t q) const {
    return reinterpret_cast<virtio::VringAvail*>(base + avail(q));
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr,
                 "usage: hostile_frontend SOCKET CASE\n"
                 "cases: loop oob avail_jump nested_indirect len_overflow bad_head "
                 "bad_csum_start\n");
    return 2;
  }
  std::string which = argv[2];
  auto fd = connect_unix(argv[1]);
  if (!fd) die(fd.error().to_string());
  MessageChannel ch(std::move(*fd));

  int mem_fd = memfd_create("hostile-guest", MFD_CLOEXEC);
  if (mem_fd < 0 || ftruncate(mem_fd, kMemSize) < 0) die("memfd");
  auto* base =
      static_cast<uint8_t*>(mmap(nullptr, kMemSize, PROT_READ | PROT_WRITE, MAP_SHARED, mem_fd, 0));
  if (base == MAP_FAILED) die("mmap");
  Layout layout{base};

  uint64_t offered = get_u64(ch, Request::get_features);
  // CSUM: a checksum request is only read (and its offsets only checked) when it was negotiated.
  uint64_t features =
      offered & (virtio::bit(virtio::kFVersion1) | virtio::bit(kFProtocolFeatures) |
                 virtio::bit(virtio::kFRingIndirectDesc) | virtio::bit(virtio::kNetFCsum));
  uint64_t protocol = get_u64(ch, Request::get_protocol_features) & virtio::bit(protocol::kStatus);
  send_or_die(ch, Request::set_owner, nullptr, 0);
  send_or_die(ch, Request::set_protocol_features, &protocol, 8);
  send_or_die(ch, Request::set_features, &features, 8);
  struct {
    uint32_t n, pad;
    RegionDescriptor r;
  } table{1, 0, {0, kMemSize, reinterpret_cast<uint64_t>(base), 0}};
  send_or_die(ch, Request::set_mem_table, &table, sizeof(table), &mem_fd, 1);
  for (uint32_t q = 0; q < 2; ++q) {
    VringState num{q, kQueueSize}, base_idx{q, 0}, enable{q, 1};
    VringAddr addr{q,
                   0,
                   reinterpret_cast<uint64_t>(base + layout.desc(q)),
                   reinterpret_cast<uint64_t>(base + layout.used(q)),
                   reinterpret_cast<uint64_t>(base + layout.avail(q)),
                   0};
    send_or_die(ch, Request::set_vring_num, &num, sizeof(num));
    send_or_die(ch, Request::set_vring_base, &base_idx, sizeof(base_idx));
    send_or_die(ch, Request::set_vring_addr, &addr, sizeof(addr));
    int kick = eventfd(0, EFD_CLOEXEC), call = eventfd(0, EFD_CLOEXEC);
    uint64_t index = q;
    send_or_die(ch, Request::set_vring_kick, &index, 8, &kick, 1);
    send_or_die(ch, Request::set_vring_call, &index, 8, &call, 1);
    send_or_die(ch, Request::set_vring_enable, &enable, sizeof(enable));
  }

  // The transmit queue (1) gets the hostile content; a frame buffer at 0x100000.
  virtio::VringDesc* d = layout.table(1);
  virtio::VringAvail* avail = layout.avail_ring(1);
  const uint64_t frame = 0x100000;
  std::memset(base + frame, 0xab, 2048);
  std::memset(base + frame, 0, 12);  // a clean virtio-net header
  uint16_t new_idx = 1;
  if (which == "loop") {
    d[0] = {frame, 100, virtio::kDescFNext, 1};
    d[1] = {frame, 100, virtio::kDescFNext, 0};
  } else if (which == "oob") {
    d[0] = {uint64_t{1} << 40, 64, 0, 0};
  } else if (which == "avail_jump") {
    d[0] = {frame, 100, 0, 0};
    new_idx = 1000;
  } else if (which == "nested_indirect") {
    auto* inner = reinterpret_cast<virtio::VringDesc*>(base + 0x200000);
    inner[0] = {0x200000, 32, virtio::kDescFIndirect, 0};
    inner[1] = {frame, 100, 0, 0};
    d[0] = {0x200000, 32, virtio::kDescFIndirect, 0};
  } else if (which == "len_overflow") {
    d[0] = {frame, 0xffffffffu, 0, 0};
  } else if (which == "bad_head") {
    d[0] = {frame, 100, 0, 0};
  } else if (which == "bad_csum_start") {
    virtio::NetHeader h{};
    h.flags = virtio::kNetHdrFNeedsCsum;
    h.csum_start = 4000;  // beyond the 88-byte frame
    std::memcpy(base + frame, &h, sizeof(h));
    d[0] = {frame, 100, 0, 0};
  } else {
    die("unknown case " + which);
  }
  avail->ring[0] = which == "bad_head" ? 300 : 0;
  __atomic_store_n(&avail->idx, new_idx, __ATOMIC_RELEASE);

  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  uint64_t status = get_u64(ch, Request::get_status);
  bool needs_reset = (status & virtio::kStatusNeedsReset) != 0;
  std::printf("case %s: status 0x%llx%s\n", which.c_str(), static_cast<unsigned long long>(status),
              needs_reset ? " NEEDS_RESET" : "");
  // A malformed header costs only that frame: the queue must stay in service.
  if (which == "bad_csum_start") return needs_reset ? 1 : 0;
  return needs_reset ? 0 : 1;
}
