#include "ringlane/blk/io_ring.h"

#include <cstring>
#include <string>
#include <vector>

namespace ringlane::blk {

Result<std::unique_ptr<IoRing>> IoRing::create(unsigned entries) {
  std::unique_ptr<IoRing> ring(new IoRing());
  // COOP_TASKRUN: completions are not forced on the worker by an interrupt; it runs them when
  // it enters the kernel, and TASKRUN_FLAG tells it when that is due. Kernels before 5.19 lack
  // both: fall back to a plain ring.
  int rc = -EINVAL;
  for (unsigned taskrun : {IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG, 0U}) {
    io_uring_params params{};
    params.flags = IORING_SETUP_CQSIZE | taskrun;
    params.cq_entries = entries * 2;
    rc = io_uring_queue_init_params(entries, &ring->ring_, &params);
    if (rc != -EINVAL) break;
  }
  if (rc < 0) {
    return Error(-rc, std::string("io_uring_queue_init: ") + std::strerror(-rc) +
                          (rc == -EPERM || rc == -ENOSYS
                               ? " (io_uring disabled? see /proc/sys/kernel/io_uring_disabled)"
                               : ""));
  }
  ring->initialised_ = true;
  return ring;
}

IoRing::~IoRing() {
  if (initialised_) io_uring_queue_exit(&ring_);
}

Status IoRing::register_file_slots(unsigned count) {
  int rc = io_uring_register_files_sparse(&ring_, count);
  if (rc == -EINVAL) {
    // Kernels before 5.19 have no sparse registration but take a table of empty (-1) slots.
    std::vector<int> empty(count, -1);
    rc = io_uring_register_files(&ring_, empty.data(), count);
  }
  if (rc < 0)
    return Error(-rc, std::string("io_uring_register_files_sparse: ") + std::strerror(-rc));
  return {};
}

Status IoRing::update_files(unsigned first, std::span<const int> fds) {
  // The update takes a const-less array; the kernel only reads it.
  std::vector<int> copy(fds.begin(), fds.end());
  int rc = io_uring_register_files_update(&ring_, first, copy.data(),
                                          static_cast<unsigned>(copy.size()));
  if (rc < 0)
    return Error(-rc, std::string("io_uring_register_files_update: ") + std::strerror(-rc));
  if (static_cast<size_t>(rc) != fds.size()) {
    return Error(EIO, "io_uring_register_files_update: " + std::to_string(rc) + " of " +
                          std::to_string(fds.size()) + " slots updated");
  }
  return {};
}

void IoRing::wait(std::chrono::microseconds timeout) {
  __kernel_timespec ts{};
  ts.tv_sec = timeout.count() / 1000000;
  ts.tv_nsec = (timeout.count() % 1000000) * 1000;
  io_uring_cqe* cqe = nullptr;
  // Submits what is queued too; -ETIME (nothing completed) is the expected idle outcome.
  io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
}

int IoRing::submit() {
  if (io_uring_sq_ready(&ring_) > 0) return io_uring_submit_and_get_events(&ring_);
  if (IO_URING_READ_ONCE(*ring_.sq.kflags) & IORING_SQ_TASKRUN) return io_uring_get_events(&ring_);
  return 0;
}

}  // namespace ringlane::blk
