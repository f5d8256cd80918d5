// Worker: one busy-polling thread pinned to one core. Each loop iteration it polls its queues,
// forwards what it received, and then announces a quiescent point.
#pragma once

#include <atomic>
#include <thread>

#include "ringlane/base/quiescent_state.h"
#include "ringlane/dataplane/forwarding.h"
#include "ringlane/dataplane/worker_stats.h"

namespace ringlane::dataplane {

class Worker {
 public:
  Worker(unsigned index, int core, const std::atomic<const SwitchView*>& view,
         QuiescentState& grace);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void start();
  void stop();
  unsigned index() const { return index_; }
  int core() const { return core_; }
  const WorkerStats& stats() const { return stats_; }

 private:
  void run();
  unsigned index_;
  int core_;
  const std::atomic<const SwitchView*>& view_;
  QuiescentState& grace_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  OutputLists outputs_;  // the run thread's alone
  WorkerStats stats_;
};

}  // namespace ringlane::dataplane
