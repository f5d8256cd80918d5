#include "ringlane/dataplane/worker.h"

#include <pthread.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "ringlane/base/cpu_affinity.h"
#include "ringlane/base/event_fd.h"
#include "ringlane/base/log.h"
#include "ringlane/base/tsc_clock.h"

namespace ringlane::dataplane {

Result<std::unique_ptr<Worker>> Worker::create(unsigned index, int core,
                                               const std::atomic<const SwitchView*>& view,
                                               QuiescentState& grace,
                                               std::unique_ptr<blk::IoRing> ring,
                                               uint64_t idle_sleep_cycles) {
  RINGLANE_ASSIGN_OR_RETURN(KickWait kicks, KickWait::create());
  return std::unique_ptr<Worker>(
      new Worker(index, core, view, grace, std::move(ring), idle_sleep_cycles, std::move(kicks)));
}

Worker::Worker(unsigned index, int core, const std::atomic<const SwitchView*>& view,
               QuiescentState& grace, std::unique_ptr<blk::IoRing> ring, uint64_t idle_sleep_cycles,
               KickWait kicks)
    : index_(index),
      core_(core),
      view_(view),
      grace_(grace),
      ring_(std::move(ring)),
      idle_sleep_cycles_(idle_sleep_cycles),
      kicks_(std::move(kicks)) {}

Worker::~Worker() {
  stop();
}

void Worker::start(std::function<void()> on_start) {
  thread_ = std::thread([this, on_start = std::move(on_start)] {
    if (on_start) on_start();
    run();
  });
}

void Worker::stop() {
  stop_.store(true);
  // A worker asleep on its kicks would see the flag only at the end of its longest sleep. The
  // eventfd stays readable, so this holds even if it is between its check and the poll.
  signal_event_fd(kicks_.wake_fd());
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
  uint64_t last_work = read_tsc();
  while (!stop_.load(std::memory_order_relaxed)) {
    const SwitchView* view = view_.load(std::memory_order_acquire);
    bool worked = false;
    for (const SwitchView::Poll& poll : view->polls[index_]) {
      if (poll.handoff == nullptr) [[likely]] {
        worked |= poll_queue(*view, poll, *batch);
      } else if (poll.handoff->try_begin()) {
        worked |= poll_queue(*view, poll, *batch);
        poll.handoff->end();
      }
    }
    // A ring without disks costs nothing: a disk leaves the view only once nothing of it is in
    // flight.
    if (ring_ && !view->disk_polls[index_].empty() && serve_disks(view->disk_polls[index_]))
      worked = true;
    stats_.loops.inc();
    grace_.quiescent(slot);
    if (idle_sleep_cycles_ == 0) continue;
    uint64_t now = read_tsc();
    if (worked) {
      last_work = now;
    } else if (now - last_work > idle_sleep_cycles_) {
      sleep(slot);
      last_work = read_tsc();
    }
  }
  if (ring_) finish_disk_io(view_.load(std::memory_order_acquire)->disk_polls[index_]);
  grace_.unregister_reader(slot);
}

bool Worker::poll_queue(const SwitchView& view, const SwitchView::Poll& poll,
                        net::PacketBatch& batch) {
  Port* port = view.ports[poll.port];
  uint64_t start = read_tsc();
  uint16_t n = port->receive(poll.queue_pair, batch);
  if (n == 0) {
    stats_.idle_polls.inc();
    return false;
  }
  forward_batch(view, index_, poll.port, batch, scratch_, stats_);
  port->release(poll.queue_pair, batch);
  uint64_t cycles = read_tsc() - start;
  stats_.busy_cycles.add(cycles);
  stats_.packets.add(n);
  stats_.bursts.inc();
  poll.load->record(start, cycles, n, view.gap_epoch);
  return true;
}

void Worker::sleep(int slot) {
  // The view read before the quiescent point may be gone: read it again. The worker stays
  // online while it sleeps, so this one lasts until it wakes.
  const SwitchView* view = view_.load(std::memory_order_acquire);
  if (ring_) {
    uint32_t in_flight = 0;
    for (const blk::DiskQueue* q : view->disk_polls[index_]) in_flight += q->in_flight();
    // Completions come through the ring, not a kick: wait in it, briefly.
    if (in_flight > 0) {
      ring_->wait(kIdleWait);
      stats_.sleeps.inc();
      return;
    }
  }
  if (kicks_.arm(*view, index_)) {
    grace_.sleep_begin(slot, kicks_.wake_fd());
    kicks_.wait(kLongestSleep);
    grace_.sleep_end(slot);
    stats_.sleeps.inc();
  }
  kicks_.disarm();
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
    if (advance_disk_io(queues) == 0) std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  if (uint32_t left = in_flight(); left > 0) {
    log_line(LogLevel::error, "rl-worker" + std::to_string(index_) + ": " + std::to_string(left) +
                                  " disk requests still in flight at exit");
  }
}

bool Worker::serve_disks(const std::vector<blk::DiskQueue*>& queues) {
  uint32_t taken = 0;
  for (blk::DiskQueue* q : queues) taken += q->poll(*ring_);
  return taken + advance_disk_io(queues) > 0;
}

unsigned Worker::advance_disk_io(const std::vector<blk::DiskQueue*>& queues) {
  if (int rc = ring_->submit(); rc < 0 && rc != -EAGAIN && rc != -EBUSY && rc != -EINTR) {
    log_line(LogLevel::error, "rl-worker" + std::to_string(index_) +
                                  ": io_uring submit failed: " + std::strerror(-rc));
  }
  // A stopped queue's completions still come here: the control thread waits for them (drain)
  // before the queue's memory can go.
  unsigned completed = ring_->reap(blk::DiskQueue::complete);
  if (completed > 0) {
    for (blk::DiskQueue* q : queues) q->publish();
  }
  return completed;
}

}  // namespace ringlane::dataplane
