// FakeBurstPort: a switch port for Engine tests with real worker threads. Its receive() hands out
// bursts as the test asks (continuously, at a rate, or a number of them), each costing a chosen
// number of TSC cycles and stamped with a per-queue sequence number that release() checks comes
// back once and in order. Everything the test inspects lives in a PortProbe that outlives the
// port: which threads poll each queue, whether two are ever inside one queue's burst at once, the
// wakeups it armed, and any call made once the port was destroyed.
#pragma once

#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ringlane/base/event_fd.h"
#include "ringlane/base/tsc_clock.h"
#include "ringlane/dataplane/port.h"

namespace ringlane::dataplane {

// One queue pair's record, written by the workers that poll it, read by the test.
struct QueueProbe {
  // --- what the test sets -----------------------------------------------------------------
  std::atomic<bool> flowing{false};          // every receive (or one per interval) is a burst
  std::atomic<uint64_t> interval_cycles{0};  // flowing: at most one burst per this many cycles
  std::atomic<uint64_t> credits{0};          // bursts still to give when not flowing
  std::atomic<uint64_t> spin_cycles{0};      // what each burst costs inside receive()
  std::atomic<pid_t> only_thread{0};         // when set, receives from other threads are wrong
  // --- what the port records ---------------------------------------------------------------
  std::atomic<bool> in_burst{false};      // a thread is between receive() and release()
  std::atomic<uint64_t> receives{0};      // receive() calls
  std::atomic<uint64_t> issued{0};        // bursts handed out (the last one's number)
  std::atomic<uint64_t> released{0};      // bursts given back in order (the last's number)
  std::atomic<uint64_t> outstanding{0};   // the burst out now, 0 for none
  std::atomic<uint64_t> overlaps{0};      // a receive came while another thread held a burst
  std::atomic<uint64_t> order_errors{0};  // a release of no burst, another or out of order
  std::atomic<uint64_t> wrong_thread{0};  // receives from a thread other than only_thread
  std::atomic<pid_t> last_thread{0};      // the thread of the latest receive
  std::atomic<uint64_t> next_due{0};      // TSC time of the next burst at a rate
};

struct PortProbe {
  explicit PortProbe(uint16_t queue_pairs, uint64_t mac = 0)
      : source_mac(mac), queues(queue_pairs) {}

  // Bursts carry frames from this address to the broadcast address (an l2 switch learns it and
  // floods them).
  const uint64_t source_mac;
  std::vector<QueueProbe> queues;
  // An eventfd that arm_wakeup() gives the sleeping worker; -1: the port cannot wake a sleeper.
  std::atomic<int> wake_fd{-1};
  std::atomic<uint64_t> arms{0};       // arm_wakeup() calls that gave the fd
  std::atomic<uint64_t> signalled{0};  // disarm_wakeup() found the fd readable
  std::atomic<uint64_t> transmitted{0};
  // Set by the destructor: any call after it counts in calls_after_destroy.
  std::atomic<bool> destroyed{false};
  std::atomic<uint64_t> calls_after_destroy{0};
  std::atomic<int> active_calls{0};  // data-path calls under way
  std::atomic<uint64_t> destroyed_while_called{0};
};

class FakeBurstPort final : public Port {
 public:
  static constexpr uint16_t kPacketsPerBurst = 4;

  FakeBurstPort(std::string name, std::shared_ptr<PortProbe> probe)
      : name_(std::move(name)), probe_(std::move(probe)) {
    frame_.fill(0);
    for (int b = 0; b < 6; ++b) {
      frame_[b] = 0xff;
      frame_[6 + b] = static_cast<uint8_t>(probe_->source_mac >> (40 - 8 * b));
    }
  }
  ~FakeBurstPort() override {
    probe_->destroyed.store(true);
    if (probe_->active_calls.load() != 0) probe_->destroyed_while_called.fetch_add(1);
    // Still whole for a moment: a worker that calls in now is counted (calls_after_destroy)
    // instead of crashing the test in freed memory.
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    if (probe_->active_calls.load() != 0) probe_->destroyed_while_called.fetch_add(1);
  }

  const std::string& name() const override { return name_; }
  uint16_t queue_pairs() const override { return static_cast<uint16_t>(probe_->queues.size()); }

  uint16_t receive(uint16_t qp, net::PacketBatch& batch) override {
    Call call(*probe_);
    batch.clear();
    QueueProbe& q = probe_->queues[qp];
    pid_t me = gettid();
    bool owned = !q.in_burst.exchange(true);
    if (!owned) q.overlaps.fetch_add(1);
    q.receives.fetch_add(1);
    if (pid_t only = q.only_thread.load(); only != 0 && only != me) q.wrong_thread.fetch_add(1);
    q.last_thread.store(me);
    if (!take_burst(q)) {
      if (owned) q.in_burst.store(false);
      return 0;
    }
    if (uint64_t spin = q.spin_cycles.load(std::memory_order_relaxed); spin != 0) {
      uint64_t until = read_tsc() + spin;
      while (read_tsc() < until) {
      }
    }
    uint64_t seq = q.issued.fetch_add(1) + 1;
    if (q.outstanding.exchange(seq) != 0) q.order_errors.fetch_add(1);
    for (uint16_t i = 0; i < kPacketsPerBurst; ++i) {
      batch.spans[i] = {frame_.data(), frame_.size()};
      batch.packets[i] = {
          i, 1, static_cast<uint16_t>(seq), static_cast<uint32_t>(frame_.size()), {}};
      batch.source_heads[i] = static_cast<uint16_t>(seq);
    }
    batch.count = kPacketsPerBurst;
    batch.spans_used = kPacketsPerBurst;
    batch.source_head_count = kPacketsPerBurst;
    return kPacketsPerBurst;
  }

  void release(uint16_t qp, const net::PacketBatch& batch) override {
    Call call(*probe_);
    QueueProbe& q = probe_->queues[qp];
    uint64_t seq = q.outstanding.exchange(0);
    uint64_t expected = q.released.load() + 1;
    if (seq == 0 || seq != expected || batch.count != kPacketsPerBurst ||
        batch.packets[0].head != static_cast<uint16_t>(seq)) {
      q.order_errors.fetch_add(1);
    } else {
      q.released.store(seq);
    }
    q.in_burst.store(false);
  }

  uint16_t transmit(uint16_t, const net::PacketBatch&, std::span<const uint16_t> which) override {
    Call call(*probe_);
    probe_->transmitted.fetch_add(which.size());
    return static_cast<uint16_t>(which.size());
  }
  int transmit_queue_for(unsigned) const override {
    Call call(*probe_);
    return 0;
  }
  std::vector<PortQueueStats> queue_stats() const override { return {}; }
  bool connected() const override { return true; }
  const char* kind() const override { return "fake"; }

  Wakeup arm_wakeup(uint16_t qp) override {
    Call call(*probe_);
    int fd = probe_->wake_fd.load();
    if (fd < 0) return {-1, true};
    probe_->arms.fetch_add(1);
    const QueueProbe& q = probe_->queues[qp];
    return {fd, q.flowing.load() || q.credits.load() > 0};
  }
  void disarm_wakeup(uint16_t, bool signalled) override {
    Call call(*probe_);
    if (!signalled) return;
    drain_event_fd(probe_->wake_fd.load());
    probe_->signalled.fetch_add(1);
  }
  void set_shared_transmit(bool) override { Call call(*probe_); }

 private:
  // Brackets a data-path call: counts it if the port was destroyed, and lets the destructor see
  // a call under way. Both sides use seq_cst, so one of them sees the other.
  class Call {
   public:
    explicit Call(PortProbe& probe) : probe_(probe) {
      probe_.active_calls.fetch_add(1);
      if (probe_.destroyed.load()) probe_.calls_after_destroy.fetch_add(1);
    }
    ~Call() { probe_.active_calls.fetch_sub(1); }
    Call(const Call&) = delete;
    Call& operator=(const Call&) = delete;

   private:
    PortProbe& probe_;
  };

  static bool take_burst(QueueProbe& q) {
    if (q.flowing.load(std::memory_order_relaxed)) {
      uint64_t interval = q.interval_cycles.load(std::memory_order_relaxed);
      if (interval == 0) return true;
      uint64_t now = read_tsc();
      if (now < q.next_due.load(std::memory_order_relaxed)) return false;
      q.next_due.store(now + interval, std::memory_order_relaxed);
      return true;
    }
    uint64_t c = q.credits.load();
    while (c > 0 && !q.credits.compare_exchange_weak(c, c - 1)) {
    }
    return c > 0;
  }

  std::string name_;
  std::shared_ptr<PortProbe> probe_;
  std::array<uint8_t, 60> frame_;
};

}  // namespace ringlane::dataplane
