// Engine at runtime, with real worker threads: ports added and removed while the others forward
// (a removed port is never called again and its addresses go), queues moved between workers
// (never polled by two at once, no burst lost), rebalance() by measured cycles, reset_gaps(), and
// workers that sleep on their queues' kicks (--idle sleep) yet wake for a burst and for the
// control thread. Waits are bounded so that a bug fails a test instead of hanging it; the only
// timed assertions have margins of an order of magnitude or more.
#include "ringlane/dataplane/engine.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fake_burst_port.h"
#include "ringlane/base/cpu_affinity.h"
#include "ringlane/base/event_fd.h"
#include "ringlane/base/tsc_clock.h"

namespace ringlane::dataplane {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

template <typename Pred>
bool wait_until(Pred pred, std::chrono::milliseconds limit = 5s) {
  auto deadline = Clock::now() + limit;
  while (!pred()) {
    if (Clock::now() > deadline) return pred();
    std::this_thread::sleep_for(200us);
  }
  return true;
}

uint64_t cycles_of(std::chrono::nanoseconds d) {
  return static_cast<uint64_t>(static_cast<double>(d.count()) * 1e-9 *
                               static_cast<double>(tsc_hz()));
}

// Two cores the workers may be pinned to (the same one twice on a one-core machine).
std::vector<int> two_cores() {
  auto allowed = allowed_cores();
  if (!allowed.ok() || allowed.value().empty()) return {0, 0};
  const std::vector<int>& cores = allowed.value();
  return {cores[0], cores.size() > 1 ? cores[1] : cores[0]};
}

EngineConfig config_for(ForwardingMode mode, size_t workers, double idle_sleep_us = 0) {
  EngineConfig config;
  std::vector<int> cores = two_cores();
  config.cores.assign(cores.begin(), cores.begin() + static_cast<long>(workers));
  config.mode = mode;
  config.idle_sleep_us = idle_sleep_us;
  return config;
}

uint16_t add_fake(Engine& engine, const std::string& name, std::shared_ptr<PortProbe> probe) {
  return engine.add_port(std::make_unique<FakeBurstPort>(name, std::move(probe)));
}

// The kernel's id of worker `index`'s thread, found by the name it gives itself ("rl-worker0");
// 0 when it has none yet.
pid_t worker_tid(unsigned index) {
  std::string want = "rl-worker" + std::to_string(index);
  pid_t found = 0;
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return 0;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream comm(std::string("/proc/self/task/") + e->d_name + "/comm");
    std::string name;
    if (std::getline(comm, name) && name == want) found = static_cast<pid_t>(std::stoi(e->d_name));
  }
  closedir(dir);
  return found;
}

std::vector<pid_t> worker_tids(unsigned count) {
  std::vector<pid_t> tids(count, 0);
  wait_until([&] {
    for (unsigned i = 0; i < count; ++i) tids[i] = worker_tid(i);
    return std::find(tids.begin(), tids.end(), 0) == tids.end();
  });
  return tids;
}

// After the workers stopped: every burst handed out came back once and in order, no two threads
// were ever inside one queue's burst, and no call came after the port was destroyed.
void expect_clean(const PortProbe& probe, const std::string& name) {
  SCOPED_TRACE(name);
  for (size_t qp = 0; qp < probe.queues.size(); ++qp) {
    const QueueProbe& q = probe.queues[qp];
    SCOPED_TRACE("queue pair " + std::to_string(qp));
    EXPECT_EQ(q.overlaps.load(), 0u);
    EXPECT_EQ(q.order_errors.load(), 0u);
    EXPECT_EQ(q.wrong_thread.load(), 0u);
    EXPECT_EQ(q.released.load(), q.issued.load());
    EXPECT_EQ(q.outstanding.load(), 0u);
    EXPECT_FALSE(q.in_burst.load());
  }
  EXPECT_EQ(probe.calls_after_destroy.load(), 0u);
  EXPECT_EQ(probe.destroyed_while_called.load(), 0u);
}

// The errno of a failed call, 0 for success.
int code_of(const Status& s) {
  return s.ok() ? 0 : s.error().code();
}

// Locally administered unicast addresses, one per port.
constexpr uint64_t station(uint16_t n) {
  return 0x020000000100 | n;
}

// --- ports at runtime ---------------------------------------------------------------------

TEST(EngineRuntime, PortAddedAfterStartIsPolled) {
  Engine engine(config_for(ForwardingMode::cross_connect, 2));
  auto first = std::make_shared<PortProbe>(1);
  first->queues[0].flowing = true;
  add_fake(engine, "first", first);
  ASSERT_TRUE(engine.start().ok());
  ASSERT_TRUE(wait_until([&] { return first->queues[0].issued.load() > 10; }));

  auto late = std::make_shared<PortProbe>(2);
  for (auto& q : late->queues) q.flowing = true;
  uint16_t index = add_fake(engine, "late", late);
  EXPECT_EQ(index, 1);
  EXPECT_EQ(engine.port_count(), 2u);
  // Both its queue pairs are taken up, one on each worker (each goes to the one with fewest).
  EXPECT_NE(engine.worker_of(index, 0), engine.worker_of(index, 1));
  for (auto& q : late->queues) {
    EXPECT_TRUE(wait_until([&] { return q.issued.load() > 10; }));
  }
  engine.stop();
  expect_clean(*first, "first");
  expect_clean(*late, "late");
}

TEST(EngineRuntime, RemovedPortIsNeverCalledAgainAndItsAddressesAreFlushed) {
  Engine engine(config_for(ForwardingMode::l2_switch, 2));
  // Two ports that stay, each flooding a burst every 20 us to every other port (the one coming
  // and going too, until it goes).
  std::vector<std::shared_ptr<PortProbe>> stay;
  for (uint16_t n = 0; n < 2; ++n) {
    auto p = std::make_shared<PortProbe>(1, station(n));
    p->queues[0].flowing = true;
    p->queues[0].interval_cycles = cycles_of(20us);
    add_fake(engine, "stay" + std::to_string(n), p);
    stay.push_back(p);
  }
  ASSERT_TRUE(engine.start().ok());
  ASSERT_TRUE(wait_until([&] {
    uint64_t now = read_tsc();
    return engine.macs().lookup(station(0), now) == 0 && engine.macs().lookup(station(1), now) == 1;
  }));

  std::vector<std::shared_ptr<PortProbe>> gone;
  for (uint16_t round = 0; round < 30; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    uint64_t mac = station(static_cast<uint16_t>(100 + round));
    auto p = std::make_shared<PortProbe>(2, mac);
    for (auto& q : p->queues) q.flowing = true;
    uint16_t index = add_fake(engine, "coming" + std::to_string(round), p);
    // The index the last one left.
    EXPECT_EQ(index, 2);
    ASSERT_TRUE(wait_until([&] {
      return engine.macs().lookup(mac, read_tsc()) == index && p->transmitted.load() > 0;
    }));

    ASSERT_TRUE(engine.remove_port(index).ok());
    EXPECT_TRUE(p->destroyed.load());
    EXPECT_EQ(engine.ports()[index], nullptr);
    EXPECT_EQ(engine.port_count(), 2u);
    EXPECT_EQ(engine.macs().lookup(mac, read_tsc()), MacTable::kNoPort);
    // The others' addresses stay.
    EXPECT_EQ(engine.macs().lookup(station(0), read_tsc()), 0);
    EXPECT_EQ(engine.macs().lookup(station(1), read_tsc()), 1);
    // The others go on flooding; none of it reaches the removed port.
    uint64_t base0 = stay[0]->queues[0].issued.load(), base1 = stay[1]->queues[0].issued.load();
    ASSERT_TRUE(wait_until([&] {
      return stay[0]->queues[0].issued.load() > base0 + 5 &&
             stay[1]->queues[0].issued.load() > base1 + 5;
    }));
    EXPECT_EQ(p->calls_after_destroy.load(), 0u);
    EXPECT_EQ(p->destroyed_while_called.load(), 0u);
    // Nothing learns its address again.
    EXPECT_EQ(engine.macs().lookup(mac, read_tsc()), MacTable::kNoPort);
    gone.push_back(p);
  }
  EXPECT_EQ(code_of(engine.remove_port(2)), ENOENT);
  EXPECT_EQ(code_of(engine.remove_port(7)), ENOENT);
  engine.stop();
  for (size_t i = 0; i < gone.size(); ++i) expect_clean(*gone[i], "gone" + std::to_string(i));
  for (size_t i = 0; i < stay.size(); ++i) expect_clean(*stay[i], "stay" + std::to_string(i));
}

// --- queue moves ----------------------------------------------------------------------------

TEST(EngineRuntime, MoveQueueRefusesWhatDoesNotExist) {
  Engine engine(config_for(ForwardingMode::cross_connect, 2));
  auto p = std::make_shared<PortProbe>(1);
  uint16_t index = add_fake(engine, "p", p);
  EXPECT_EQ(code_of(engine.move_queue(9, 0, 1)), ENOENT);
  EXPECT_EQ(code_of(engine.move_queue(index, 1, 1)), ENOENT);
  EXPECT_EQ(code_of(engine.move_queue(index, 0, 2)), EINVAL);
  // Before start() there are no workers to hand over: the placement just changes.
  unsigned to = 1 - engine.worker_of(index, 0);
  ASSERT_TRUE(engine.move_queue(index, 0, to).ok());
  EXPECT_EQ(engine.worker_of(index, 0), to);
  ASSERT_TRUE(engine.move_queue(index, 0, to).ok());  // already there
  EXPECT_EQ(engine.worker_of(index, 0), to);
}

TEST(EngineRuntime, MovedQueueIsNeverPolledByTwoWorkersAndLosesNoBurst) {
  Engine engine(config_for(ForwardingMode::cross_connect, 2));
  // A queue that always has a burst, each taking a little while (a wider window for a second
  // poller to walk into), cross-connected with one that keeps the other worker busy too.
  auto moving = std::make_shared<PortProbe>(1);
  moving->queues[0].flowing = true;
  moving->queues[0].spin_cycles = cycles_of(1us);
  auto other = std::make_shared<PortProbe>(1);
  other->queues[0].flowing = true;
  uint16_t m = add_fake(engine, "moving", moving);
  uint16_t o = add_fake(engine, "other", other);
  ASSERT_TRUE(engine.connect(m, o).ok());
  ASSERT_TRUE(engine.start().ok());
  std::vector<pid_t> tids = worker_tids(2);
  ASSERT_NE(tids[0], 0);
  ASSERT_NE(tids[1], 0);
  QueueProbe& q = moving->queues[0];
  ASSERT_TRUE(wait_until([&] { return q.issued.load() > 10; }));

  for (int i = 0; i < 200; ++i) {
    SCOPED_TRACE("move " + std::to_string(i));
    unsigned to = 1 - engine.worker_of(m, 0);
    // While it moves either worker may poll it (one at a time); once moved, only the new one.
    q.only_thread = 0;
    ASSERT_TRUE(engine.move_queue(m, 0, to).ok());
    EXPECT_EQ(engine.worker_of(m, 0), to);
    q.only_thread = tids[to];
    // Taken up at once by the new worker.
    uint64_t base = q.issued.load();
    ASSERT_TRUE(wait_until([&] { return q.issued.load() > base + 2; }));
    EXPECT_EQ(q.last_thread.load(), tids[to]);
  }
  engine.stop();
  expect_clean(*moving, "moving");
  expect_clean(*other, "other");
  EXPECT_GT(other->transmitted.load(), 0u);
}

// --- rebalance ------------------------------------------------------------------------------

// Adds `cycles` to what polling a queue pair cost, as its worker would: for queues that are idle
// (no worker writes their load), so that rebalance() decides on exact figures.
void charge(const Engine& engine, uint16_t port, uint64_t cycles) {
  const_cast<QueueLoad&>(engine.load(port, 0)).busy_cycles.add(cycles);
}

// Each worker's load by the queues' cycles in `cycles` (by port, queue pair 0), as placed now.
std::vector<uint64_t> load_by_worker(const Engine& engine, const std::vector<uint16_t>& ports,
                                     const std::vector<uint64_t>& cycles) {
  std::vector<uint64_t> load(engine.worker_count(), 0);
  for (size_t i = 0; i < ports.size(); ++i) load[engine.worker_of(ports[i], 0)] += cycles[i];
  return load;
}

uint64_t busiest(const std::vector<uint64_t>& load) {
  return *std::max_element(load.begin(), load.end());
}

std::vector<unsigned> placement_of(const Engine& engine, const std::vector<uint16_t>& ports) {
  std::vector<unsigned> placed;
  placed.reserve(ports.size());
  for (uint16_t p : ports) placed.push_back(engine.worker_of(p, 0));
  return placed;
}

unsigned changes(const std::vector<unsigned>& before, const std::vector<unsigned>& after) {
  unsigned n = 0;
  for (size_t i = 0; i < before.size(); ++i) n += before[i] != after[i];
  return n;
}

TEST(EngineRuntime, RebalanceSpreadsQueuesByTheirCycles) {
  Engine engine(config_for(ForwardingMode::cross_connect, 2));
  std::vector<std::shared_ptr<PortProbe>> probes;
  std::vector<uint16_t> index;
  for (int i = 0; i < 3; ++i) {
    probes.push_back(std::make_shared<PortProbe>(1));
    index.push_back(add_fake(engine, "q" + std::to_string(i), probes.back()));
  }
  // All on worker 0, with running workers (the moves are real hand-overs).
  for (uint16_t i : index) ASSERT_TRUE(engine.move_queue(i, 0, 0).ok());
  ASSERT_TRUE(engine.start().ok());
  std::vector<pid_t> tids = worker_tids(2);

  const std::vector<uint64_t> cost = {3'000'000'000, 1'500'000'000, 800'000'000};
  for (size_t i = 0; i < index.size(); ++i) charge(engine, index[i], cost[i]);
  std::vector<unsigned> before = placement_of(engine, index);
  uint64_t busiest_before = busiest(load_by_worker(engine, index, cost));
  unsigned moved = engine.rebalance();
  std::vector<unsigned> after = placement_of(engine, index);
  EXPECT_EQ(moved, changes(before, after));
  // The heaviest stays alone; the two lighter ones go to the other worker.
  EXPECT_EQ(moved, 2u);
  EXPECT_EQ(after[0], 0u);
  EXPECT_EQ(after[1], 1u);
  EXPECT_EQ(after[2], 1u);
  uint64_t busiest_after = busiest(load_by_worker(engine, index, cost));
  EXPECT_LT(busiest_after, busiest_before);
  EXPECT_EQ(busiest_after, cost[0]);

  // The moved queues are polled by their new workers.
  for (auto& p : probes) {
    p->queues[0].interval_cycles = cycles_of(50us);
    p->queues[0].flowing = true;
  }
  for (size_t i = 0; i < index.size(); ++i) {
    SCOPED_TRACE("q" + std::to_string(i));
    EXPECT_TRUE(wait_until([&] {
      return probes[i]->queues[0].last_thread.load() == tids[engine.worker_of(index[i], 0)];
    }));
  }
  for (auto& p : probes) p->queues[0].flowing = false;

  // Balanced: the same costs again move nothing.
  for (size_t i = 0; i < index.size(); ++i) charge(engine, index[i], cost[i]);
  EXPECT_EQ(engine.rebalance(), 0u);
  EXPECT_EQ(placement_of(engine, index), after);
  engine.stop();
  for (size_t i = 0; i < probes.size(); ++i) expect_clean(*probes[i], "q" + std::to_string(i));
}

TEST(EngineRuntime, RebalanceMovesNothingForUnderFivePercent) {
  Engine engine(config_for(ForwardingMode::cross_connect, 2));
  std::vector<uint16_t> index;
  std::vector<std::shared_ptr<PortProbe>> probes;
  for (int i = 0; i < 4; ++i) {
    probes.push_back(std::make_shared<PortProbe>(1));
    index.push_back(add_fake(engine, "q" + std::to_string(i), probes.back()));
  }
  // Worker 0: 40 + 40, worker 1: 39 + 39. Swapping one pair would give 79 and 79: 1.25% less
  // on the busiest, not worth a move.
  ASSERT_TRUE(engine.move_queue(index[0], 0, 0).ok());
  ASSERT_TRUE(engine.move_queue(index[1], 0, 0).ok());
  ASSERT_TRUE(engine.move_queue(index[2], 0, 1).ok());
  ASSERT_TRUE(engine.move_queue(index[3], 0, 1).ok());
  ASSERT_TRUE(engine.start().ok());
  const std::vector<uint64_t> cost = {40'000'000, 40'000'000, 39'000'000, 39'000'000};
  for (size_t i = 0; i < index.size(); ++i) charge(engine, index[i], cost[i]);
  std::vector<unsigned> before = placement_of(engine, index);
  EXPECT_EQ(engine.rebalance(), 0u);
  EXPECT_EQ(placement_of(engine, index), before);
  engine.stop();
}

TEST(EngineRuntime, RebalanceGoesByTheCyclesTheWorkersMeasured) {
  Engine engine(config_for(ForwardingMode::cross_connect, 2));
  // Three queues, a burst each every 100 us, costing 30, 15 and 8 us of spinning.
  const std::chrono::microseconds spin[] = {30us, 15us, 8us};
  std::vector<std::shared_ptr<PortProbe>> probes;
  std::vector<uint16_t> index;
  for (int i = 0; i < 3; ++i) {
    auto p = std::make_shared<PortProbe>(1);
    p->queues[0].interval_cycles = cycles_of(100us);
    p->queues[0].spin_cycles = cycles_of(spin[i]);
    p->queues[0].flowing = true;
    index.push_back(add_fake(engine, "q" + std::to_string(i), p));
    probes.push_back(p);
  }
  for (uint16_t i : index) ASSERT_TRUE(engine.move_queue(i, 0, 0).ok());
  ASSERT_TRUE(engine.start().ok());
  std::vector<pid_t> tids = worker_tids(2);
  std::this_thread::sleep_for(300ms);
  // The traffic stops, so that the cycles read here are the ones rebalance() goes by.
  for (auto& p : probes) p->queues[0].flowing = false;
  ASSERT_TRUE(wait_until([&] {
    for (size_t i = 0; i < index.size(); ++i) {
      if (engine.load(index[i], 0).bursts.get() != probes[i]->queues[0].issued.load()) return false;
    }
    return true;
  }));
  std::vector<uint64_t> measured;
  measured.reserve(index.size());
  for (uint16_t i : index) measured.push_back(engine.load(i, 0).busy_cycles.get());
  for (uint64_t c : measured) EXPECT_GT(c, 0u);
  EXPECT_EQ(engine.workers()[1]->stats().busy_cycles.get(), 0u);

  std::vector<unsigned> before = placement_of(engine, index);
  uint64_t busiest_before = busiest(load_by_worker(engine, index, measured));
  unsigned moved = engine.rebalance();
  EXPECT_EQ(moved, changes(before, placement_of(engine, index)));
  uint64_t busiest_after = busiest(load_by_worker(engine, index, measured));
  // The cost is wall-clock time, preemption included: on a busy machine one queue may measure
  // far above its share. Only where no queue has nearly all of it must some move.
  uint64_t heaviest = *std::max_element(measured.begin(), measured.end());
  if (heaviest * 10 < busiest_before * 9) {
    EXPECT_GT(moved, 0u);
  }
  if (moved > 0) {
    EXPECT_LT(busiest_after * 100, busiest_before * 95);
  }

  // Each queue is polled by the worker it is placed on now.
  for (auto& p : probes) p->queues[0].flowing = true;
  for (size_t i = 0; i < index.size(); ++i) {
    SCOPED_TRACE("q" + std::to_string(i));
    EXPECT_TRUE(wait_until([&] {
      return probes[i]->queues[0].last_thread.load() == tids[engine.worker_of(index[i], 0)];
    }));
  }
  engine.stop();
  for (size_t i = 0; i < probes.size(); ++i) expect_clean(*probes[i], "q" + std::to_string(i));
}

TEST(EngineRuntime, RebalanceMovesNothingWithoutLoadOrWhenBalanced) {
  Engine engine(config_for(ForwardingMode::cross_connect, 2));
  auto a = std::make_shared<PortProbe>(1);
  auto b = std::make_shared<PortProbe>(1);
  uint16_t ia = add_fake(engine, "a", a);
  uint16_t ib = add_fake(engine, "b", b);
  ASSERT_NE(engine.worker_of(ia, 0), engine.worker_of(ib, 0));
  ASSERT_TRUE(engine.start().ok());
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(engine.rebalance(), 0u);  // no traffic: no measure to go by
  // Two equal queues, one on each worker.
  for (auto* p : {a.get(), b.get()}) {
    p->queues[0].interval_cycles = cycles_of(100us);
    p->queues[0].spin_cycles = cycles_of(20us);
    p->queues[0].flowing = true;
  }
  std::this_thread::sleep_for(300ms);
  unsigned wa = engine.worker_of(ia, 0), wb = engine.worker_of(ib, 0);
  EXPECT_EQ(engine.rebalance(), 0u);
  EXPECT_EQ(engine.worker_of(ia, 0), wa);
  EXPECT_EQ(engine.worker_of(ib, 0), wb);
  engine.stop();
  expect_clean(*a, "a");
  expect_clean(*b, "b");
}

// --- gaps -----------------------------------------------------------------------------------

TEST(EngineRuntime, ResetGapsStartsTheLongestGapAgain) {
  Engine engine(config_for(ForwardingMode::cross_connect, 1));
  auto p = std::make_shared<PortProbe>(1);
  QueueProbe& q = p->queues[0];
  q.flowing = true;
  q.interval_cycles = cycles_of(10us);
  uint16_t index = add_fake(engine, "p", p);
  ASSERT_TRUE(engine.start().ok());
  auto bursts_after = [&](uint64_t n) {
    uint64_t base = engine.load(index, 0).bursts.get();
    return wait_until([&] { return engine.load(index, 0).bursts.get() >= base + n; });
  };
  ASSERT_TRUE(bursts_after(100));
  // A 100 ms pause in the traffic is the longest gap.
  q.flowing = false;
  std::this_thread::sleep_for(100ms);
  q.flowing = true;
  ASSERT_TRUE(bursts_after(100));
  const uint64_t pause = cycles_of(80ms);
  EXPECT_GE(engine.load(index, 0).max_gap.get(), pause);

  engine.reset_gaps();
  ASSERT_TRUE(bursts_after(100));
  uint64_t gap = engine.load(index, 0).max_gap.get();
  EXPECT_GT(gap, 0u);
  EXPECT_LT(gap, pause / 2);
  engine.stop();
  expect_clean(*p, "p");
}

// --- idle sleep -----------------------------------------------------------------------------

// Each worker thread's CPU clock, captured by EngineConfig::worker_init on the thread itself.
struct WorkerThreads {
  std::mutex mu;
  std::vector<pthread_t> threads;

  std::vector<double> cpu_seconds() {
    std::lock_guard lock(mu);
    std::vector<double> out;
    for (pthread_t t : threads) {
      clockid_t clock;
      timespec ts{};
      if (pthread_getcpuclockid(t, &clock) != 0 || clock_gettime(clock, &ts) != 0) {
        out.push_back(-1);
        continue;
      }
      out.push_back(static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9);
    }
    return out;
  }
};

std::vector<uint64_t> sleeps_of(const Engine& engine) {
  std::vector<uint64_t> s;
  for (const auto& w : engine.workers()) s.push_back(w->stats().sleeps.get());
  return s;
}

bool all_sleep_more(const Engine& engine, uint64_t more, std::chrono::milliseconds limit = 5s) {
  std::vector<uint64_t> base = sleeps_of(engine);
  return wait_until(
      [&] {
        std::vector<uint64_t> now = sleeps_of(engine);
        for (size_t i = 0; i < now.size(); ++i) {
          if (now[i] < base[i] + more) return false;
        }
        return true;
      },
      limit);
}

TEST(EngineRuntime, IdleWorkersSleepAndWakeForAKickAndForTheControlThread) {
  auto threads = std::make_shared<WorkerThreads>();
  EngineConfig config = config_for(ForwardingMode::cross_connect, 2, 50);
  config.worker_init = [threads] {
    std::lock_guard lock(threads->mu);
    threads->threads.push_back(pthread_self());
  };
  Engine engine(std::move(config));
  auto kick_a = EventFd::create();
  auto kick_b = EventFd::create();
  auto kick_c = EventFd::create();
  ASSERT_TRUE(kick_a.ok() && kick_b.ok() && kick_c.ok());
  auto a = std::make_shared<PortProbe>(1);
  a->wake_fd = kick_a.value().fd();
  auto b = std::make_shared<PortProbe>(1);
  b->wake_fd = kick_b.value().fd();
  uint16_t ia = add_fake(engine, "a", a);
  uint16_t ib = add_fake(engine, "b", b);
  ASSERT_NE(engine.worker_of(ia, 0), engine.worker_of(ib, 0));
  ASSERT_TRUE(engine.start().ok());
  std::vector<pid_t> tids = worker_tids(2);
  ASSERT_TRUE(wait_until([&] { return threads->cpu_seconds().size() == 2; }));
  ASSERT_TRUE(all_sleep_more(engine, 2));

  // Idle: asleep nearly all the time, not polling.
  std::vector<double> cpu_before = threads->cpu_seconds();
  std::vector<uint64_t> sleeps_before = sleeps_of(engine);
  auto t0 = Clock::now();
  std::this_thread::sleep_for(500ms);
  std::vector<double> cpu_after = threads->cpu_seconds();
  double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  std::vector<uint64_t> sleeps_after = sleeps_of(engine);
  for (size_t w = 0; w < 2; ++w) {
    SCOPED_TRACE("worker " + std::to_string(w));
    EXPECT_GT(sleeps_after[w], sleeps_before[w]);
    ASSERT_GE(cpu_before[w], 0);
    EXPECT_LT(cpu_after[w] - cpu_before[w], 0.2 * wall);
  }

  // A kick on the port's fd wakes its worker, which takes the burst that came.
  for (int i = 0; i < 5; ++i) {
    SCOPED_TRACE("kick " + std::to_string(i));
    ASSERT_TRUE(all_sleep_more(engine, 1));
    uint64_t bursts = a->queues[0].issued.load();
    uint64_t signalled = a->signalled.load();
    a->queues[0].credits = 1;
    ASSERT_TRUE(kick_a.value().signal().ok());
    EXPECT_TRUE(wait_until([&] { return a->queues[0].issued.load() > bursts; }, 2s));
    // The worker saw the kick (the fd readable), not just its longest sleep running out.
    EXPECT_TRUE(wait_until([&] { return a->signalled.load() > signalled; }, 2s));
    EXPECT_EQ(a->queues[0].last_thread.load(), tids[engine.worker_of(ia, 0)]);
  }

  // The control thread's changes complete although both workers sleep: each grace period wakes
  // them. Without that, each would wait for a sleep to run out (up to Worker::kLongestSleep,
  // 200 ms), and 20 moves (four grace periods each, and one more after) would take 20 s.
  ASSERT_TRUE(all_sleep_more(engine, 1));
  auto moves_start = Clock::now();
  for (int i = 0; i < 20; ++i) {
    unsigned to = 1 - engine.worker_of(ia, 0);
    auto start = Clock::now();
    ASSERT_TRUE(engine.move_queue(ia, 0, to).ok());
    EXPECT_LT(Clock::now() - start, 2s);
    EXPECT_EQ(engine.worker_of(ia, 0), to);
  }
  auto moves_took = Clock::now() - moves_start;
  std::printf("20 moves with both workers asleep: %.1f ms\n",
              std::chrono::duration<double, std::milli>(moves_took).count());
  EXPECT_LT(moves_took, 2s);
  ASSERT_TRUE(all_sleep_more(engine, 1));
  auto c = std::make_shared<PortProbe>(1);
  c->wake_fd = kick_c.value().fd();
  auto start = Clock::now();
  uint16_t ic = add_fake(engine, "c", c);
  EXPECT_LT(Clock::now() - start, 2s);
  ASSERT_TRUE(all_sleep_more(engine, 1));
  start = Clock::now();
  ASSERT_TRUE(engine.remove_port(ic).ok());
  EXPECT_LT(Clock::now() - start, 2s);

  // Still asleep when idle, and the moved queue wakes its new worker.
  ASSERT_TRUE(all_sleep_more(engine, 2));
  unsigned now_on = engine.worker_of(ia, 0);
  uint64_t bursts = a->queues[0].issued.load();
  a->queues[0].only_thread = tids[now_on];
  a->queues[0].credits = 1;
  ASSERT_TRUE(kick_a.value().signal().ok());
  EXPECT_TRUE(wait_until([&] { return a->queues[0].issued.load() > bursts; }, 2s));
  engine.stop();
  expect_clean(*a, "a");
  expect_clean(*b, "b");
  expect_clean(*c, "c");
}

}  // namespace
}  // namespace ringlane::dataplane
