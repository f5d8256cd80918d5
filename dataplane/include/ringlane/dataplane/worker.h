// Worker: one busy-polling thread pinned to one core. Each loop iteration it polls its net
// queues and forwards what it received, polls its disk queues and submits their I/O to its own
// io_uring, reaps the I/O that completed, and then announces a quiescent point.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "ringlane/base/quiescent_state.h"
#include "ringlane/blk/io_ring.h"
#include "ringlane/dataplane/forwarding.h"
#include "ringlane/dataplane/worker_stats.h"

namespace ringlane::dataplane {

class Worker {
 public:
  // How long a worker with disks and no net queues waits in the kernel when it sleeps: I/O
  // completions end the wait at once; a request the guest makes meanwhile waits at most this.
  static constexpr std::chrono::microseconds kIdleWait{200};

  // `ring` may be null when there are no disks. `idle_sleep_cycles` (0 = never): TSC cycles
  // without work after which a worker that has only disk queues sleeps (kIdleWait at most).
  Worker(unsigned index, int core, const std::atomic<const SwitchView*>& view,
         QuiescentState& grace, std::unique_ptr<blk::IoRing> ring, uint64_t idle_sleep_cycles = 0);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // `on_start` runs on the worker's thread before it polls (DPDK registers the thread there).
  void start(std::function<void()> on_start = {});
  void stop();
  unsigned index() const { return index_; }
  int core() const { return core_; }
  const WorkerStats& stats() const { return stats_; }

 private:
  void run();
  // Returns whether it took a request or completed one.
  bool serve_disks(const std::vector<blk::DiskQueue*>& queues);
  // Submits what was queued on the ring, reaps what completed and publishes it; returns the
  // number of completions.
  unsigned advance_disk_io(const std::vector<blk::DiskQueue*>& queues);
  // On stop: completes the disk requests still in flight on this worker's ring.
  void finish_disk_io(const std::vector<blk::DiskQueue*>& queues);
  unsigned index_;
  int core_;
  const std::atomic<const SwitchView*>& view_;
  QuiescentState& grace_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  ForwardScratch scratch_;  // the run thread's alone
  std::unique_ptr<blk::IoRing> ring_;
  uint64_t idle_sleep_cycles_;
  WorkerStats stats_;
};

}  // namespace ringlane::dataplane
