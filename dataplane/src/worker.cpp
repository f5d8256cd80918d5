#include "ringlane/dataplane/worker.h"

#include <pthread.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "ringlane/base/cpu_affinity.h"
#include "ringlane/base/log.h"
#include "ringlane/base/tsc_clock.h"

namespace ringlane::dataplane {

Worker::Worker(unsigned index, int core, const std::atomic<const SwitchView*>& view,
               QuiescentState& grace, std::unique_ptr<blk::IoRing> ring)
    : index_(index), core_(core), view_(view), grace_(grace), ring_(std::move(ring)) {}

Worker::~Worker() {
  stop();
}

void Worker::start() {
  thread_ = std::thread([this] { run(); });
}

void Worker::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

void Worker::run() {
  std::string name = "rl-worker" + std::to_string(index_);
  pthread_setname_np(pthread_self(), name.c_str());
  if (Status s = pin_current_thread(core_); !s.ok()) {
    log_line(LogLevel::warn, name + ": " + s.error().to_string() + "; running unpinned");
  }
  int slot = grace_.register_reader();
  auto batch = std::make_unique<net::PacketBatch>();
  while (!stop_.load(std::memory_order_relaxed)) {
    const SwitchView* view = view_.load(std::memory_order_acquire);
    for (const SwitchView::Poll& poll : view->polls[index_]) {
      Port* port = view->ports[poll.port];
      uint64_t start = read_tsc();
      uint16_t n = port->receive(poll.queue_pair, *batch);
      if (n == 0) {
        stats_.idle_polls.inc();
        continue;
      }
      forward_batch(*view, index_, poll.port, *batch, outputs_, stats_);
      port->release(poll.queue_pair, *batch);
      stats_.busy_cycles.add(read_tsc() - start);
      stats_.packets.add(n);
      stats_.bursts.inc();
    }
    if (ring_) serve_disks(view->disk_polls[index_]);
    stats_.loops.inc();
    grace_.quiescent(slot);
  }
  if (ring_) finish_disk_io(view_.load(std::memory_order_acquire)->disk_polls[index_]);
  grace_.unregister_reader(slot);
}

void Worker::finish_disk_io(const std::vector<blk::DiskQueue*>& queues) {
  // Only this ring completes these queues' requests: once the worker is gone, a queue that
  // still had some would wait for them for ever when it stops. Take nothing new; complete what
  // is in flight (the kernel bounds it: disk I/O ends, with an error at worst).
  auto in_flight = [&] {
    uint32_t n = 0;
    for (const blk::DiskQueue* q : queues) n += q->in_flight();
    return n;
  };
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (in_flight() > 0 && std::chrono::steady_clock::now() < deadline) {
    ring_->submit();
    if (ring_->reap(blk::DiskQueue::complete) > 0) {
      for (blk::DiskQueue* q : queues) q->publish();
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }
  if (uint32_t left = in_flight(); left > 0) {
    log_line(LogLevel::error, "rl-worker" + std::to_string(index_) + ": " + std::to_string(left) +
                                  " disk requests still in flight at exit");
  }
}

void Worker::serve_disks(const std::vector<blk::DiskQueue*>& queues) {
  for (blk::DiskQueue* q : queues) q->poll(*ring_);
  if (int rc = ring_->submit(); rc < 0 && rc != -EAGAIN && rc != -EBUSY && rc != -EINTR) {
    log_line(LogLevel::error, "rl-worker" + std::to_string(index_) +
                                  ": io_uring submit failed: " + std::strerror(-rc));
  }
  // A stopped queue's completions still come here: the control thread waits for them (drain)
  // before the queue's memory can go.
  if (ring_->reap(blk::DiskQueue::complete) > 0) {
    for (blk::DiskQueue* q : queues) q->publish();
  }
}

}  // namespace ringlane::dataplane
