// XskQueue: one AF_XDP socket bound to one receive queue of an interface, with a UMEM of its own
// and its four rings (fill, receive; transmit, completion). The UMEM's lower half are receive
// frames, all of them in the fill ring or with whoever received them; the upper half transmit
// frames, kept in a FramePool while free. The rings are public: the port drives them on its
// workers (libxdp's inline ring functions, no system call unless need_wakeup asks for one).
#pragma once

#include <linux/if_xdp.h>
#include <xdp/xsk.h>

#include <cstdint>
#include <memory>
#include <string>

#include "ringlane/base/result.h"
#include "ringlane/uplink/frame_pool.h"

namespace ringlane::uplink {

enum class ZeroCopyMode { automatic, on, off };

struct XskSettings {
  std::string ifname;
  uint32_t queue_id = 0;
  ZeroCopyMode zerocopy = ZeroCopyMode::automatic;
  // Each ring's entries, and the receive and the transmit frames (a power of two).
  uint32_t ring_size = 2048;
  uint32_t frame_size = 4096;
};

class XskQueue {
 public:
  // Opens the socket and fills the fill ring. With ZeroCopyMode::automatic zero-copy is tried
  // first and copy mode taken when the driver refuses it; ZeroCopyMode::on fails instead.
  static Result<std::unique_ptr<XskQueue>> open(const XskSettings& settings);
  ~XskQueue();
  XskQueue(const XskQueue&) = delete;
  XskQueue& operator=(const XskQueue&) = delete;

  // Puts this socket into the XDP program's XSKMAP at its queue id.
  Status insert_into(int xskmap_fd);

  int fd() const { return fd_; }
  uint32_t queue_id() const { return queue_id_; }
  bool zerocopy() const { return zerocopy_; }
  // The busy-poll socket options the kernel accepted, for the start-up line.
  const std::string& busy_poll() const { return busy_poll_; }

  uint8_t* frame_data(uint64_t addr) const { return umem_area_ + addr; }
  uint32_t frame_size() const { return frame_size_; }
  uint32_t frame_shift() const { return frame_shift_; }
  uint32_t rx_frames() const { return ring_size_; }

  // The kernel flagged (need_wakeup) that it waits for a system call after transmit descriptors
  // were queued: makes it, again while the kernel says more is queued; returns the calls made.
  uint32_t kick_transmit();
  // Transmit descriptors queued that the kernel has not taken yet. Any thread may ask.
  uint32_t tx_queued() const;
  // The kernel flagged that it found the fill ring empty and waits to be told of new frames:
  // tells it; returns whether a call was made.
  bool wake_receive();

  // The socket's own drop counters (XDP_STATISTICS); zeros when the kernel does not tell.
  xdp_statistics statistics() const;

  xsk_ring_cons rx{};
  xsk_ring_prod tx{};
  xsk_ring_prod fill{};
  xsk_ring_cons comp{};
  FramePool tx_pool;

 private:
  // What one transmit call takes in copy mode (the kernel's TX_BATCH_SIZE).
  static constexpr uint32_t kFramesPerKick = 32;

  explicit XskQueue(uint32_t ring_size, uint32_t frame_size);
  Status create(const XskSettings& settings, bool zerocopy);
  void destroy();

  xsk_umem* umem_ = nullptr;
  xsk_socket* xsk_ = nullptr;
  uint8_t* umem_area_ = nullptr;
  size_t umem_bytes_ = 0;
  bool umem_hugepages_ = false;
  int fd_ = -1;
  uint32_t queue_id_ = 0;
  uint32_t ring_size_;
  uint32_t frame_size_;
  uint32_t frame_shift_;
  bool zerocopy_ = false;
  std::string busy_poll_;
};

}  // namespace ringlane::uplink
