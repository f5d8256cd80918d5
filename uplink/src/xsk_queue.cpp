#include "ringlane/uplink/xsk_queue.h"

#include <sys/mman.h>
#include <sys/socket.h>

#include <bit>
#include <cstring>

#ifndef SO_PREFER_BUSY_POLL
#define SO_PREFER_BUSY_POLL 69
#endif
#ifndef SO_BUSY_POLL_BUDGET
#define SO_BUSY_POLL_BUDGET 70
#endif
#ifndef SOL_XDP
#define SOL_XDP 283
#endif

namespace ringlane::uplink {

namespace {

constexpr size_t kHugePage = size_t{2} << 20;
// How long a system call on the socket may poll the device, and how many frames a poll takes.
constexpr int kBusyPollMicroseconds = 20;
constexpr int kBusyPollBudget = 64;

std::string where(const XskSettings& s) {
  return s.ifname + " queue " + std::to_string(s.queue_id);
}

}  // namespace

XskQueue::XskQueue(uint32_t ring_size, uint32_t frame_size)
    : tx_pool(uint64_t{ring_size} * frame_size, ring_size, frame_size),
      ring_size_(ring_size),
      frame_size_(frame_size),
      frame_shift_(static_cast<uint32_t>(std::countr_zero(frame_size))) {}

XskQueue::~XskQueue() {
  destroy();
}

void XskQueue::destroy() {
  if (xsk_ != nullptr) xsk_socket__delete(xsk_);
  xsk_ = nullptr;
  if (umem_ != nullptr) xsk_umem__delete(umem_);
  umem_ = nullptr;
  if (umem_area_ != nullptr) munmap(umem_area_, umem_bytes_);
  umem_area_ = nullptr;
  fd_ = -1;
}

Result<std::unique_ptr<XskQueue>> XskQueue::open(const XskSettings& settings) {
  if (!std::has_single_bit(settings.ring_size) || settings.ring_size > 32768) {
    return Error(EINVAL, "AF_XDP ring size must be a power of two up to 32768");
  }
  if (settings.frame_size != 2048 && settings.frame_size != 4096) {
    return Error(EINVAL, "AF_XDP frame size must be 2048 or 4096");
  }
  std::unique_ptr<XskQueue> q(new XskQueue(settings.ring_size, settings.frame_size));
  q->queue_id_ = settings.queue_id;
  Status made = Status();
  if (settings.zerocopy == ZeroCopyMode::off) {
    made = q->create(settings, false);
  } else {
    made = q->create(settings, true);
    if (!made.ok() && settings.zerocopy == ZeroCopyMode::automatic) {
      q->destroy();
      made = q->create(settings, false);
    }
  }
  if (!made.ok()) return made.error();
  return q;
}

Status XskQueue::create(const XskSettings& settings, bool zerocopy) {
  umem_bytes_ = size_t{2} * ring_size_ * frame_size_;
  // Huge pages spare the TLB when the kernel has some to give; ordinary pages otherwise.
  void* area = MAP_FAILED;
  if (umem_bytes_ % kHugePage == 0) {
    area = mmap(nullptr, umem_bytes_, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE, -1, 0);
    umem_hugepages_ = area != MAP_FAILED;
  }
  if (area == MAP_FAILED) {
    area = mmap(nullptr, umem_bytes_, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  }
  if (area == MAP_FAILED) return errno_error("UMEM for " + where(settings));
  umem_area_ = static_cast<uint8_t*>(area);

  xsk_umem_config ucfg{};
  ucfg.fill_size = ring_size_;
  ucfg.comp_size = ring_size_;
  ucfg.frame_size = frame_size_;
  ucfg.frame_headroom = 0;
  ucfg.flags = 0;
  if (int rc = xsk_umem__create(&umem_, umem_area_, umem_bytes_, &fill, &comp, &ucfg); rc != 0) {
    umem_ = nullptr;
    if (rc == -ENOMEM || rc == -EPERM) {
      return Error(-rc, "cannot register the UMEM of " + where(settings) +
                            " (locked memory: RLIMIT_MEMLOCK, or CAP_IPC_LOCK)");
    }
    return Error(-rc, "cannot register the UMEM of " + where(settings));
  }
  xsk_socket_config scfg{};
  scfg.rx_size = ring_size_;
  scfg.tx_size = ring_size_;
  scfg.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;  // ringlane's own program steers
  scfg.xdp_flags = 0;
  scfg.bind_flags = XDP_USE_NEED_WAKEUP | (zerocopy ? XDP_ZEROCOPY : XDP_COPY);
  if (int rc = xsk_socket__create(&xsk_, settings.ifname.c_str(), settings.queue_id, umem_, &rx,
                                  &tx, &scfg);
      rc != 0) {
    xsk_ = nullptr;
    int e = -rc;
    if (zerocopy && (e == EOPNOTSUPP || e == EINVAL || e == EPROTONOSUPPORT)) {
      return Error(e, "zero-copy is not available on " + where(settings) +
                          " (the driver does not offer it, or XDP is attached in generic mode); "
                          "use zerocopy=auto or zerocopy=off");
    }
    if (e == EBUSY) {
      return Error(e, where(settings) + " already has an AF_XDP socket (another process?)");
    }
    return Error(e, "cannot bind an AF_XDP socket to " + where(settings));
  }
  fd_ = xsk_socket__fd(xsk_);

  xdp_options options{};
  socklen_t olen = sizeof(options);
  zerocopy_ = getsockopt(fd_, SOL_XDP, XDP_OPTIONS, &options, &olen) == 0 &&
              (options.flags & XDP_OPTIONS_ZEROCOPY) != 0;

  // Busy polling where the kernel offers it; a refusal costs nothing but the option.
  busy_poll_.clear();
  int one = 1;
  int usecs = kBusyPollMicroseconds;
  int budget = kBusyPollBudget;
  auto try_option = [&](int name, const int* value, const char* label) {
    if (setsockopt(fd_, SOL_SOCKET, name, value, sizeof(int)) == 0) {
      busy_poll_ += busy_poll_.empty() ? label : std::string(" ") + label;
    }
  };
  try_option(SO_PREFER_BUSY_POLL, &one, "prefer_busy_poll");
  try_option(SO_BUSY_POLL, &usecs, "busy_poll");
  try_option(SO_BUSY_POLL_BUDGET, &budget, "busy_poll_budget");

  // Every receive frame to the kernel.
  uint32_t idx = 0;
  if (xsk_ring_prod__reserve(&fill, ring_size_, &idx) != ring_size_) {
    return Error(ENOSPC, "fill ring of " + where(settings) + " refused its frames");
  }
  for (uint32_t i = 0; i < ring_size_; ++i) {
    *xsk_ring_prod__fill_addr(&fill, idx + i) = uint64_t{i} << frame_shift_;
  }
  xsk_ring_prod__submit(&fill, ring_size_);
  return {};
}

Status XskQueue::insert_into(int xskmap_fd) {
  if (int rc = xsk_socket__update_xskmap(xsk_, xskmap_fd); rc != 0) {
    return Error(-rc, "cannot put the AF_XDP socket of queue " + std::to_string(queue_id_) +
                          " into the XDP program's map");
  }
  return {};
}

uint32_t XskQueue::kick_transmit() {
  if (!xsk_ring_prod__needs_wakeup(&tx)) return 0;
  // In copy mode a call sends at most 32 frames and says EAGAIN when more are queued (a
  // segmented burst has more): call again while the ring still holds frames, a bounded number
  // of times. ENOBUFS/EBUSY: the kernel is behind; the frames stay queued for the next kick
  // (tick_transmit's at the latest). ENETDOWN: the link is down.
  uint32_t calls = 0;
  uint32_t limit = tx_queued() / kFramesPerKick + 2;
  while (calls < limit) {
    ++calls;
    if (sendto(fd_, nullptr, 0, MSG_DONTWAIT, nullptr, 0) >= 0 || errno != EAGAIN) break;
    if (tx_queued() == 0) break;
  }
  return calls;
}

uint32_t XskQueue::tx_queued() const {
  // The producer index is ours; the consumer index the kernel's.
  return *tx.producer - __atomic_load_n(tx.consumer, __ATOMIC_ACQUIRE);
}

bool XskQueue::wake_receive() {
  if (!xsk_ring_prod__needs_wakeup(&fill)) return false;
  (void)recvfrom(fd_, nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);
  return true;
}

xdp_statistics XskQueue::statistics() const {
  xdp_statistics s{};
  socklen_t len = sizeof(s);
  if (fd_ < 0 || getsockopt(fd_, SOL_XDP, XDP_STATISTICS, &s, &len) != 0) return {};
  return s;
}

}  // namespace ringlane::uplink
