// Worker: one busy-polling thread pinned to one core. Each loop iteration it polls its net
// queues and forwards what it received, polls its disk queues and submits their I/O to its own
// io_uring, reaps the I/O that completed, and then announces a quiescent point. With an idle
// time (--idle sleep:US) a worker whose queues stayed empty that long sleeps on their kicks.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "ringlane/base/quiescent_state.h"
#include "ringlane/blk/io_ring.h"
#include "ringlane/dataplane/forwarding.h"
#include "ringlane/dataplane/kick_wait.h"
#include "ringlane/dataplane/worker_stats.h"

namespace ringlane::dataplane {

class Worker {
 public:
  // How long a worker with disk I/O in flight waits in the kernel when it sleeps: completions
  // end the wait at once; a request or frame that arrives meanwhile waits at most this.
  static constexpr std::chrono::microseconds kIdleWait{200};
  // The longest sleep on kicks: a safety net only, since whatever needs the worker wakes it.
  static constexpr std::chrono::milliseconds kLongestSleep{200};

  // `ring` may be null when there are no disks. `idle_sleep_cycles` (0 = never): TSC cycles
  // without work after which the worker sleeps until a kick (or its disk I/O completes).
  static Result<std::unique_ptr<Worker>> create(unsigned index, int core,
                                                const std::atomic<const SwitchView*>& view,
                                                QuiescentState& grace,
                                                std::unique_ptr<blk::IoRing> ring,
                                                uint64_t idle_sleep_cycles = 0);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // `on_start` runs on the worker's thread before it polls (DPDK registers the thread there).
  void start(std::function<void()> on_start = {});
  void stop();
  unsigned index() const { return index_; }
  // Whether the thread was told to stop (or never started): it polls nothing any more.
  bool stopped() const { return stop_.load(std::memory_order_relaxed) || !thread_.joinable(); }
  int core() const { return core_; }
  const WorkerStats& stats() const { return stats_; }

 private:
  Worker(unsigned index, int core, const std::atomic<const SwitchView*>& view,
         QuiescentState& grace, std::unique_ptr<blk::IoRing> ring, uint64_t idle_sleep_cycles,
         KickWait kicks);
  void run();
  // One burst from a queue pair: received, forwarded, released, counted. Returns whether it
  // found any.
  bool poll_queue(const SwitchView& view, const SwitchView::Poll& poll, net::PacketBatch& batch);
  // Nothing to do for a while: sleeps until a queue is kicked or the control thread needs it.
  void sleep(int slot);
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
  KickWait kicks_;
  WorkerStats stats_;
};

}  // namespace ringlane::dataplane
