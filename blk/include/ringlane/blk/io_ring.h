// IoRing: one worker's io_uring (liburing). Workers never wait on it: they queue submissions
// while polling their queues, submit once per loop, and reap whatever has completed. Completion
// work the kernel defers to the submitting thread (COOP_TASKRUN) is run by the same call, only
// when the kernel says some is pending, so a loop with nothing to submit costs no system call.
#pragma once

#include <liburing.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>

#include "ringlane/base/result.h"

namespace ringlane::blk {

class IoRing {
 public:
  static Result<std::unique_ptr<IoRing>> create(unsigned entries);
  ~IoRing();
  IoRing(const IoRing&) = delete;
  IoRing& operator=(const IoRing&) = delete;

  // Gives the ring a table of `count` empty fixed-file slots: a request names slot i with
  // IOSQE_FIXED_FILE, and the kernel skips looking the descriptor up for every I/O. Once, before
  // the worker starts.
  Status register_file_slots(unsigned count);
  // Puts `fds` into the slots from `first` on (-1 empties a slot). Any thread may call it while
  // the worker submits: the kernel serialises it with submissions, and requests in flight keep
  // the file they were submitted with.
  Status update_files(unsigned first, std::span<const int> fds);

  // A free submission entry, or null when the ring is full until the next submit().
  io_uring_sqe* next_sqe() { return io_uring_get_sqe(&ring_); }
  // Free submission entries.
  unsigned space() { return io_uring_sq_space_left(&ring_); }
  // Submits what was queued, and runs deferred completion work if the kernel flagged some.
  // Returns the submissions taken, or -errno.
  int submit();

  // Waits until a completion is ready or `timeout` passes (it stays in the ring for reap()).
  void wait(std::chrono::microseconds timeout);

  // Calls on_completion(user_data, res) for every completion ready now; returns their number.
  template <typename F>
  unsigned reap(F&& on_completion) {
    io_uring_cqe* cqes[64];
    unsigned total = 0;
    for (;;) {
      unsigned n = io_uring_peek_batch_cqe(&ring_, cqes, 64);
      for (unsigned i = 0; i < n; ++i)
        on_completion(io_uring_cqe_get_data64(cqes[i]), cqes[i]->res);
      io_uring_cq_advance(&ring_, n);
      total += n;
      if (n < 64) return total;
    }
  }

 private:
  IoRing() = default;
  io_uring ring_{};
  bool initialised_ = false;
};

}  // namespace ringlane::blk
