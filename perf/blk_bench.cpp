// ringlane_blk_bench: a vhost-user-blk driver of the project's own, with no VM, for issue 13's
// comparison (perf/blk_compare.py). It plays the guest: guest memory is a memfd shared with the
// backend (SET_MEM_TABLE through VhostUserFrontend), one split virtqueue carries 4 KiB random
// reads or writes, and QD requests stay in flight for the measured interval. Per-request latency
// is taken with the TSC from the moment a request is put on the avail ring to the moment its head
// is seen on the used ring; the result is one JSON line on stdout.
//
// --raw FILE runs the same workload straight through io_uring from this process (O_DIRECT, the
// same offsets, the same queue depth): the ceiling a vhost-user backend on the same file can reach.
//
// The driver busy-polls the used ring and never waits on the call eventfd. It kicks as a Linux
// guest does without EVENT_IDX: after publishing a batch, unless the device set NO_NOTIFY on the
// used ring (ringlane does, it polls; qemu-storage-daemon needs every kick). It asks for calls
// (interrupts) unless told not to, so a backend pays the notification a VM would make it pay.
#include <dirent.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "ringlane/base/cpu_affinity.h"
#include "ringlane/base/event_fd.h"
#include "ringlane/base/program.h"
#include "ringlane/base/result.h"
#include "ringlane/base/tsc_clock.h"
#include "ringlane/base/unique_fd.h"
#include "ringlane/vhost_user/frontend.h"
#include "ringlane/virtio/blk_spec.h"
#include "ringlane/virtio/spec.h"

using namespace ringlane;

namespace {

constexpr const char* kProgram = "ringlane_blk_bench";
constexpr uint32_t kBlockBytes = 4096;
constexpr uint32_t kMaxDepth = 256;

struct Options {
  std::string vhost_user_path;
  std::string raw_path;
  std::string rw = "randread";
  uint32_t qd = 32;
  double seconds = 5;
  double warmup = 2;
  int pin = -1;
  std::string file;         // the image, for its size (vhost-user mode: no GET_CONFIG yet)
  uint64_t size_bytes = 0;  // or the size given outright
  uint32_t ring_size = 256;
  std::string indirect = "on";
  std::string kick = "auto";
  std::string interrupts = "on";
  std::string raw_reap = "poll";
  int cpu_pid = 0;  // the backend whose CPU time the measured interval is charged with
  uint64_t seed = 1;
  double stall_seconds = 5;  // no completion for this long with requests in flight: give up
};

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "%s: %s\n", kProgram, what.c_str());
  std::exit(kExitFailure);
}

// splitmix64: cheap, and the same sequence in every mode for the same seed.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

 private:
  uint64_t state_;
};

Result<uint64_t> image_bytes(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno_error("open " + path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno_error("stat " + path);
  if (S_ISBLK(st.st_mode)) {
    uint64_t bytes = 0;
    if (::ioctl(fd.get(), BLKGETSIZE64, &bytes) != 0) return errno_error("BLKGETSIZE64 " + path);
    return bytes;
  }
  return static_cast<uint64_t>(st.st_size);
}

// --- CPU time of a process ----------------------------------------------------------------------

struct CpuSample {
  double process_s = 0;              // /proc/PID/stat: every thread, those that exited included
  double tasks_s = 0;                // the sum over /proc/PID/task/*/stat: the threads alive now
  std::vector<std::string> threads;  // "tid:comm" of those threads
};

// utime + stime in seconds from a stat line (fields 14 and 15, counted after the command name,
// which may hold spaces and parentheses).
std::optional<double> stat_cpu_seconds(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  if (!std::getline(f, line)) return std::nullopt;
  size_t close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(line.substr(close + 1));
  std::string field;
  uint64_t utime = 0, stime = 0;
  for (int i = 0; i < 13 && rest >> field; ++i) {
    if (i == 11) utime = std::stoull(field);
    if (i == 12) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

CpuSample sample_cpu(int pid) {
  CpuSample s;
  std::string base = "/proc/" + std::to_string(pid);
  s.process_s = stat_cpu_seconds(base + "/stat").value_or(0);
  if (DIR* d = ::opendir((base + "/task").c_str())) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::string task = base + "/task/" + e->d_name;
      s.tasks_s += stat_cpu_seconds(task + "/stat").value_or(0);
      std::ifstream comm(task + "/comm");
      std::string name;
      std::getline(comm, name);
      s.threads.push_back(std::string(e->d_name) + ":" + name);
    }
    ::closedir(d);
  }
  std::sort(s.threads.begin(), s.threads.end());
  return s;
}

nlohmann::json cpu_json(int pid, const CpuSample& a, const CpuSample& b, double wall_s) {
  std::vector<std::string> seen = a.threads;
  seen.insert(seen.end(), b.threads.begin(), b.threads.end());
  std::sort(seen.begin(), seen.end());
  seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
  double process = b.process_s - a.process_s;
  return {{"pid", pid},
          {"cpu_s", process},
          {"cpu_s_tasks", b.tasks_s - a.tasks_s},
          {"cores", process / wall_s},
          {"threads", seen}};
}

// --- the workload: QD requests in flight, random 4 KiB blocks, latency per request -----------

struct Measurement {
  uint64_t ios = 0;
  uint64_t errors = 0;
  uint64_t notifications = 0;  // kicks (vhost-user) or kernel entries (raw) in the interval
  double wall_s = 0;
  std::vector<uint64_t> latency_ticks;
  CpuSample backend_before, backend_after, self_before, self_after;
};

// The loop every mode shares. An Engine has
//   issue(slot, offset)  queue a request for data slot `slot` at byte `offset` (not yet visible),
//   publish()            make what was queued visible to the device (and notify it if needed),
//   reap(f)              call f(slot, ok) for every request completed now; return how many,
//   notifications()      kicks sent or system calls made so far.
template <typename Engine>
Measurement run_workload(Engine& engine, const Options& o, uint64_t capacity_bytes) {
  const uint64_t blocks = capacity_bytes / kBlockBytes;
  const uint64_t hz = tsc_hz();
  Random random(o.seed);
  std::vector<uint64_t> started(o.qd, 0);
  Measurement m;
  m.latency_ticks.reserve(static_cast<size_t>(std::min(o.seconds, 60.0) * 400'000));

  auto start = [&](uint32_t slot) {
    uint64_t offset = (random.next() % blocks) * kBlockBytes;
    started[slot] = read_tsc();
    engine.issue(slot, offset);
  };

  const uint64_t t0 = read_tsc();
  const uint64_t measure_from = t0 + static_cast<uint64_t>(o.warmup * static_cast<double>(hz));
  const uint64_t measure_to =
      measure_from + static_cast<uint64_t>(o.seconds * static_cast<double>(hz));
  const auto stall_ticks = static_cast<uint64_t>(o.stall_seconds * static_cast<double>(hz));
  bool measuring = false, stopping = false;
  uint64_t interval_start = 0, notifications_before = 0;
  uint32_t in_flight = o.qd;
  uint64_t last_progress = t0;

  for (uint32_t slot = 0; slot < o.qd; ++slot) start(slot);
  engine.publish();

  while (in_flight > 0) {
    uint64_t now = read_tsc();
    if (!measuring && !stopping && now >= measure_from) {
      // CPU samples first, then the clock: the interval starts when they are taken.
      if (o.cpu_pid > 0) m.backend_before = sample_cpu(o.cpu_pid);
      m.self_before = sample_cpu(getpid());
      measuring = true;
      notifications_before = engine.notifications();
      now = interval_start = read_tsc();
    }
    if (measuring && now >= measure_to) {
      measuring = false;
      stopping = true;  // no more requests; the ones in flight are drained
      m.wall_s = static_cast<double>(now - interval_start) / static_cast<double>(hz);
      m.notifications = engine.notifications() - notifications_before;
      if (o.cpu_pid > 0) m.backend_after = sample_cpu(o.cpu_pid);
      m.self_after = sample_cpu(getpid());
    }
    unsigned done = engine.reap([&](uint32_t slot, bool ok) {
      if (measuring) {
        m.latency_ticks.push_back(now - started[slot]);
        ++m.ios;
        if (!ok) ++m.errors;
      } else if (!ok) {
        ++m.errors;
      }
      if (stopping) {
        --in_flight;
      } else {
        start(slot);
      }
    });
    if (done > 0) {
      last_progress = now;
      if (!stopping) engine.publish();
    } else if (now - last_progress > stall_ticks) {
      die("no completion for " + std::to_string(o.stall_seconds) + " s with " +
          std::to_string(in_flight) + " requests in flight: the backend stalled");
    }
  }
  return m;
}

// --- vhost-user: the driver side of one split virtqueue ----------------------------------------

// Guest memory: one memfd, laid out once. Every data slot is 4 KiB aligned in both address spaces
// (the memfd is mapped at offset 0), so O_DIRECT backends take the buffers as they are.
struct GuestLayout {
  static constexpr uint64_t kGuestBase = 0x4000'0000;  // non-zero: a missing translation shows
  static constexpr uint64_t kDesc = 0;                 // up to 1024 entries, 16 KiB
  static constexpr uint64_t kAvail = 16 * 1024;        // 6 + 2 * 1024 bytes
  static constexpr uint64_t kUsed = 24 * 1024;         // 6 + 8 * 1024 bytes
  static constexpr uint64_t kIndirect = 36 * 1024;     // 64 bytes a slot (3 descriptors)
  static constexpr uint64_t kHeaders = 56 * 1024;      // 32 bytes a slot: header, status at +16
  static constexpr uint64_t kStatusAt = 16;
  static constexpr uint64_t kData = 128 * 1024;  // 4 KiB a slot
  static constexpr uint64_t kBytes = kData + uint64_t{kMaxDepth} * kBlockBytes;
  static constexpr uint32_t kMaxRing = 1024;
};

class VhostUserBlkDriver {
 public:
  VhostUserBlkDriver(const Options& o, vhost_user::VhostUserFrontend frontend)
      : o_(o), frontend_(std::move(frontend)) {}

  Status setup() {
    if (o_.ring_size < 2 || o_.ring_size > GuestLayout::kMaxRing ||
        (o_.ring_size & (o_.ring_size - 1)) != 0) {
      return Error(EINVAL, "--ring-size must be a power of two from 2 to 1024");
    }
    Result<uint64_t> offered = frontend_.get_features();
    if (!offered.ok()) return offered.error();
    offered_ = *offered;
    if (!(offered_ & virtio::bit(virtio::kFVersion1))) {
      return Error(ENOTSUP, "the backend does not offer VERSION_1");
    }
    indirect_ = o_.indirect == "on" && (offered_ & virtio::bit(virtio::kFRingIndirectDesc));
    uint32_t descs_per_request = indirect_ ? 1 : 3;
    if (o_.qd * descs_per_request > o_.ring_size) {
      return Error(EINVAL, "QD " + std::to_string(o_.qd) + " needs " +
                               std::to_string(o_.qd * descs_per_request) +
                               " descriptors: raise --ring-size or use indirect descriptors");
    }
    // FLUSH when offered, as a Linux guest negotiates it: the device may then cache writes
    // (ringlane without it completes writes only once stable, RWF_DSYNC, as virtio 5.2.5.1 says).
    acked_ = virtio::bit(virtio::kFVersion1) |
             (indirect_ ? virtio::bit(virtio::kFRingIndirectDesc) : 0) |
             (offered_ & virtio::bit(virtio::kBlkFFlush));
    RINGLANE_TRY(frontend_.set_owner());
    RINGLANE_TRY(frontend_.set_features(acked_));

    memfd_.reset(::memfd_create("ringlane-blk-bench", MFD_CLOEXEC));
    if (!memfd_) return errno_error("memfd_create");
    if (::ftruncate(memfd_.get(), GuestLayout::kBytes) != 0) return errno_error("ftruncate");
    void* p = ::mmap(nullptr, GuestLayout::kBytes, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_POPULATE, memfd_.get(), 0);
    if (p == MAP_FAILED) return errno_error("mmap guest memory");
    host_ = static_cast<uint8_t*>(p);
    vhost_user::SharedRegion region{GuestLayout::kGuestBase, GuestLayout::kBytes,
                                    reinterpret_cast<uint64_t>(host_), 0, memfd_.get()};
    RINGLANE_TRY(frontend_.set_mem_table(&region, 1));

    desc_ = reinterpret_cast<virtio::VringDesc*>(host_ + GuestLayout::kDesc);
    avail_ = reinterpret_cast<virtio::VringAvail*>(host_ + GuestLayout::kAvail);
    used_ = reinterpret_cast<virtio::VringUsed*>(host_ + GuestLayout::kUsed);
    mask_ = static_cast<uint16_t>(o_.ring_size - 1);
    if (o_.interrupts == "off") avail_->flags = virtio::kAvailFNoInterrupt;
    lay_out_requests();

    Result<EventFd> kick = EventFd::create();
    if (!kick.ok()) return kick.error();
    Result<EventFd> call = EventFd::create();
    if (!call.ok()) return call.error();
    kick_.emplace(std::move(*kick));
    call_.emplace(std::move(*call));
    vhost_user::FrontendVring vring{0,
                                    o_.ring_size,
                                    reinterpret_cast<uint64_t>(desc_),
                                    reinterpret_cast<uint64_t>(avail_),
                                    reinterpret_cast<uint64_t>(used_),
                                    0,
                                    kick_->fd(),
                                    call_->fd()};
    RINGLANE_TRY(frontend_.start_vring(vring));
    started_ = true;
    return {};
  }

  // Takes the ring back (GET_VRING_BASE) and closes the connection; every request has completed.
  void teardown() {
    if (started_ && frontend_.usable()) (void)frontend_.stop_vring(0);
    (void)frontend_.release(std::chrono::milliseconds(2000));
    if (host_ != nullptr) ::munmap(host_, GuestLayout::kBytes);
    host_ = nullptr;
  }

  void issue(uint32_t slot, uint64_t offset) {
    auto* header = reinterpret_cast<virtio::BlkRequestHeader*>(header_of(slot));
    header->sector = offset / virtio::kBlkSectorSize;
    header_of(slot)[GuestLayout::kStatusAt] = 0xff;  // the device must overwrite it
    avail_->ring[avail_idx_++ & mask_] = head_of(slot);
  }

  void publish() {
    __atomic_store_n(&avail_->idx, avail_idx_, __ATOMIC_RELEASE);
    if (o_.kick == "auto") {
      // The index store must be visible before the flag is read (virtio 2.7.13.3): a device that
      // turns notifications back on re-checks the avail ring after, so one of us sees the other.
      __atomic_thread_fence(__ATOMIC_SEQ_CST);
      if (__atomic_load_n(&used_->flags, __ATOMIC_RELAXED) & virtio::kUsedFNoNotify) return;
    }
    signal_event_fd(kick_->fd());
    ++kicks_;
  }

  template <typename F>
  unsigned reap(F&& done) {
    uint16_t used_idx = __atomic_load_n(&used_->idx, __ATOMIC_ACQUIRE);
    auto n = static_cast<uint16_t>(used_idx - last_used_);
    for (; last_used_ != used_idx; ++last_used_) {
      uint32_t id = used_->ring[last_used_ & mask_].id;
      uint32_t slot = indirect_ ? id : id / 3;
      done(slot, header_of(slot)[GuestLayout::kStatusAt] == virtio::kBlkSOk);
    }
    return n;
  }

  uint64_t notifications() const { return kicks_; }
  uint64_t offered() const { return offered_; }
  uint64_t acked() const { return acked_; }
  bool indirect() const { return indirect_; }

 private:
  static uint64_t gpa(uint64_t offset) { return GuestLayout::kGuestBase + offset; }
  uint8_t* header_of(uint32_t slot) const {
    return host_ + GuestLayout::kHeaders + uint64_t{slot} * 32;
  }
  uint16_t head_of(uint32_t slot) const {
    return static_cast<uint16_t>(indirect_ ? slot : slot * 3);
  }

  // Every slot's chain is fixed: header (device-readable), 4 KiB of data (device-writable for
  // reads), status byte (device-writable). Only the header's sector changes per request.
  void lay_out_requests() {
    bool write = o_.rw == "randwrite";
    uint16_t data_flags = write ? 0 : virtio::kDescFWrite;
    for (uint32_t slot = 0; slot < kMaxDepth; ++slot) {
      auto* header = reinterpret_cast<virtio::BlkRequestHeader*>(header_of(slot));
      *header = {write ? virtio::kBlkTOut : virtio::kBlkTIn, 0, 0};
      // Something other than zeroes to write.
      std::memset(host_ + GuestLayout::kData + uint64_t{slot} * kBlockBytes,
                  0x5a ^ static_cast<int>(slot & 0xff), kBlockBytes);
    }
    for (uint32_t slot = 0; slot < o_.qd; ++slot) {
      uint64_t header = GuestLayout::kHeaders + uint64_t{slot} * 32;
      virtio::VringDesc chain[3] = {
          {gpa(header), sizeof(virtio::BlkRequestHeader), virtio::kDescFNext, 1},
          {gpa(GuestLayout::kData + uint64_t{slot} * kBlockBytes), kBlockBytes,
           static_cast<uint16_t>(data_flags | virtio::kDescFNext), 2},
          {gpa(header + GuestLayout::kStatusAt), 1, virtio::kDescFWrite, 0}};
      if (indirect_) {
        auto* table = reinterpret_cast<virtio::VringDesc*>(host_ + GuestLayout::kIndirect +
                                                           uint64_t{slot} * 64);
        std::memcpy(table, chain, sizeof(chain));
        desc_[slot] = {gpa(GuestLayout::kIndirect + uint64_t{slot} * 64), sizeof(chain),
                       virtio::kDescFIndirect, 0};
      } else {
        auto first = static_cast<uint16_t>(slot * 3);
        chain[0].next = static_cast<uint16_t>(first + 1);
        chain[1].next = static_cast<uint16_t>(first + 2);
        std::memcpy(&desc_[first], chain, sizeof(chain));
      }
    }
  }

  const Options& o_;
  vhost_user::VhostUserFrontend frontend_;
  UniqueFd memfd_;
  uint8_t* host_ = nullptr;
  virtio::VringDesc* desc_ = nullptr;
  virtio::VringAvail* avail_ = nullptr;
  virtio::VringUsed* used_ = nullptr;
  uint16_t mask_ = 0;
  uint16_t avail_idx_ = 0;
  uint16_t last_used_ = 0;
  std::optional<EventFd> kick_, call_;
  uint64_t offered_ = 0, acked_ = 0, kicks_ = 0;
  bool indirect_ = false;
  bool started_ = false;
};

// --- raw: io_uring on the file from this process -----------------------------------------------

class RawEngine {
 public:
  explicit RawEngine(const Options& o) : o_(o) {}
  ~RawEngine() {
    if (ring_ready_) io_uring_queue_exit(&ring_);
    std::free(buffers_);
  }

  Status setup() {
    write_ = o_.rw == "randwrite";
    wait_ = o_.raw_reap == "wait";
    fd_.reset(::open(o_.raw_path.c_str(), O_RDWR | O_DIRECT | O_CLOEXEC));
    if (!fd_) return errno_error("open " + o_.raw_path + " O_DIRECT");
    // The set-up ringlane's workers use (blk/src/io_ring.cpp): completions run when this thread
    // enters the kernel, and the kernel flags when that is due, so polling costs no system call.
    io_uring_params params{};
    params.flags = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_CQSIZE;
    params.cq_entries = 2 * kMaxDepth;
    int rc = io_uring_queue_init_params(kMaxDepth, &ring_, &params);
    if (rc < 0) return Error(-rc, "io_uring_queue_init_params");
    ring_ready_ = true;
    int fd = fd_.get();
    rc = io_uring_register_files(&ring_, &fd, 1);
    if (rc < 0) return Error(-rc, "io_uring_register_files");
    buffers_ = static_cast<uint8_t*>(std::aligned_alloc(kBlockBytes, kMaxDepth * kBlockBytes));
    if (buffers_ == nullptr) return Error(ENOMEM, "buffers");
    for (uint32_t i = 0; i < kMaxDepth; ++i) {
      std::memset(buffers_ + i * kBlockBytes, 0x5a ^ static_cast<int>(i & 0xff), kBlockBytes);
    }
    return {};
  }

  void issue(uint32_t slot, uint64_t offset) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);  // never null: at most kMaxDepth in flight
    uint8_t* buf = buffers_ + uint64_t{slot} * kBlockBytes;
    if (write_) {
      io_uring_prep_write(sqe, 0, buf, kBlockBytes, offset);
    } else {
      io_uring_prep_read(sqe, 0, buf, kBlockBytes, offset);
    }
    sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data64(sqe, slot);
  }

  // Submission happens in reap(), one kernel entry for both directions.
  void publish() {}

  template <typename F>
  unsigned reap(F&& done) {
    if (wait_) {
      io_uring_submit_and_wait(&ring_, 1);
      ++enters_;
    } else if (io_uring_sq_ready(&ring_) > 0) {
      io_uring_submit_and_get_events(&ring_);
      ++enters_;
    } else if (IO_URING_READ_ONCE(*ring_.sq.kflags) & IORING_SQ_TASKRUN) {
      io_uring_get_events(&ring_);
      ++enters_;
    }
    io_uring_cqe* cqes[64];
    unsigned total = 0;
    for (;;) {
      unsigned n = io_uring_peek_batch_cqe(&ring_, cqes, 64);
      for (unsigned i = 0; i < n; ++i) {
        done(static_cast<uint32_t>(io_uring_cqe_get_data64(cqes[i])),
             cqes[i]->res == static_cast<int>(kBlockBytes));
      }
      io_uring_cq_advance(&ring_, n);
      total += n;
      if (n < 64) return total;
    }
  }

  uint64_t notifications() const { return enters_; }

 private:
  const Options& o_;
  UniqueFd fd_;
  io_uring ring_{};
  bool ring_ready_ = false;
  bool write_ = false;
  bool wait_ = false;
  uint8_t* buffers_ = nullptr;
  uint64_t enters_ = 0;
};

// --- the report ---------------------------------------------------------------------------------

nlohmann::json report(const Options& o, const Measurement& m, uint64_t capacity) {
  std::vector<uint64_t> lat = m.latency_ticks;
  std::sort(lat.begin(), lat.end());
  double us_per_tick = 1e6 / static_cast<double>(tsc_hz());
  // Nearest rank: the smallest sample with at least q of them at or below it.
  auto quantile = [&](double q) {
    if (lat.empty()) return 0.0;
    auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(lat.size())));
    return static_cast<double>(lat[std::max<size_t>(rank, 1) - 1]) * us_per_tick;
  };
  double sum = 0;
  for (uint64_t t : lat) sum += static_cast<double>(t);
  nlohmann::json j = {
      {"mode", o.raw_path.empty() ? "vhost-user" : "raw"},
      {"rw", o.rw},
      {"bs", kBlockBytes},
      {"qd", o.qd},
      {"capacity_bytes", capacity},
      {"seconds", m.wall_s},
      {"ios", m.ios},
      {"errors", m.errors},
      {"iops", static_cast<double>(m.ios) / m.wall_s},
      {"lat_us",
       {{"mean", lat.empty() ? 0.0 : sum / static_cast<double>(lat.size()) * us_per_tick},
        {"p50", quantile(0.50)},
        {"p99", quantile(0.99)},
        {"p99.9", quantile(0.999)},
        {"max", lat.empty() ? 0.0 : static_cast<double>(lat.back()) * us_per_tick}}},
      {"bench_cpu", cpu_json(getpid(), m.self_before, m.self_after, m.wall_s)},
  };
  if (o.cpu_pid > 0)
    j["backend_cpu"] = cpu_json(o.cpu_pid, m.backend_before, m.backend_after, m.wall_s);
  return j;
}

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

int run(int argc, char** argv) {
  Options o;
  CLI::App app{
      "ringlane_blk_bench: 4 KiB random I/O at a fixed queue depth through a vhost-user-blk "
      "backend (this program is the driver, no VM) or straight through io_uring (--raw); one "
      "JSON line of IOPS and latency percentiles on stdout."};
  auto* vu = app.add_option("--vhost-user", o.vhost_user_path, "backend socket to connect to");
  auto* raw = app.add_option("--raw", o.raw_path, "file or block device for io_uring O_DIRECT");
  vu->excludes(raw);
  app.add_option("--rw", o.rw, "randread or randwrite")
      ->check(CLI::IsMember({"randread", "randwrite"}));
  app.add_option("--qd", o.qd, "requests kept in flight (1-256)")->check(CLI::Range(1u, kMaxDepth));
  app.add_option("--seconds", o.seconds, "measured interval")->check(CLI::PositiveNumber);
  app.add_option("--warmup", o.warmup, "seconds run before the measured interval")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--pin", o.pin, "core to run on");
  app.add_option("--file", o.file, "the backend's image, for the disk size (vhost-user mode)");
  app.add_option("--size-bytes", o.size_bytes, "the disk size, instead of --file");
  app.add_option("--ring-size", o.ring_size, "virtqueue size (power of two, up to 1024)");
  app.add_option("--indirect", o.indirect, "indirect descriptors when offered: on|off")
      ->check(CLI::IsMember({"on", "off"}));
  app.add_option("--kick", o.kick,
                 "auto: kick unless the device set NO_NOTIFY; always: after every batch")
      ->check(CLI::IsMember({"auto", "always"}));
  app.add_option("--interrupts", o.interrupts,
                 "on: the device signals the call eventfd (as for a VM); off: NO_INTERRUPT")
      ->check(CLI::IsMember({"on", "off"}));
  app.add_option("--raw-reap", o.raw_reap,
                 "raw mode: poll (busy, ringlane's way) or wait (block for a completion)")
      ->check(CLI::IsMember({"poll", "wait"}));
  app.add_option("--cpu-pid", o.cpu_pid, "backend process whose CPU time to measure");
  app.add_option("--seed", o.seed, "random offsets' seed");
  app.add_option("--stall-seconds", o.stall_seconds, "give up after this long without progress");
  if (auto status = parse_command_line(app, argc, argv)) return *status;
  if (o.vhost_user_path.empty() == o.raw_path.empty()) {
    return report_failure(kProgram, "give one of --vhost-user SOCK or --raw FILE", kExitUsage);
  }

  uint64_t capacity = o.size_bytes;
  std::string size_from = !o.raw_path.empty() ? o.raw_path : o.file;
  if (capacity == 0) {
    if (size_from.empty()) {
      return report_failure(kProgram, "--vhost-user needs --file IMAGE or --size-bytes N",
                            kExitUsage);
    }
    Result<uint64_t> bytes = image_bytes(size_from);
    if (!bytes.ok()) return report_failure(kProgram, bytes.error().to_string(), kExitFailure);
    capacity = *bytes;
  }
  if (capacity < kBlockBytes) return report_failure(kProgram, "disk under 4 KiB", kExitUsage);

  if (o.pin >= 0) {
    if (Status s = pin_current_thread(o.pin); !s.ok()) {
      return report_failure(kProgram, s.error().to_string(), kExitFailure);
    }
  }
  (void)tsc_hz();  // calibrated now, not in the first measured interval

  nlohmann::json out;
  if (!o.raw_path.empty()) {
    RawEngine engine(o);
    if (Status s = engine.setup(); !s.ok()) {
      return report_failure(kProgram, s.error().to_string(), kExitFailure);
    }
    Measurement m = run_workload(engine, o, capacity);
    out = report(o, m, capacity);
    out["reap"] = o.raw_reap;
    out["kernel_entries"] = m.notifications;
    out["kernel_entries_per_io"] = m.ios ? static_cast<double>(m.notifications) / m.ios : 0.0;
  } else {
    Result<vhost_user::VhostUserFrontend> frontend =
        vhost_user::VhostUserFrontend::connect(o.vhost_user_path);
    if (!frontend.ok()) return report_failure(kProgram, frontend.error().to_string(), kExitFailure);
    VhostUserBlkDriver driver(o, std::move(*frontend));
    if (Status s = driver.setup(); !s.ok()) {
      driver.teardown();
      return report_failure(kProgram, "set-up: " + s.error().to_string(), kExitFailure);
    }
    Measurement m = run_workload(driver, o, capacity);
    driver.teardown();
    out = report(o, m, capacity);
    out["features_offered"] = hex(driver.offered());
    out["features_acked"] = hex(driver.acked());
    out["indirect"] = driver.indirect();
    out["ring_size"] = o.ring_size;
    out["interrupts"] = o.interrupts;
    out["kicks"] = m.notifications;
    out["kicks_per_io"] = m.ios ? static_cast<double>(m.notifications) / m.ios : 0.0;
  }
  std::printf("%s\n", out.dump().c_str());
  return out["errors"].get<uint64_t>() == 0 ? kExitDone : kExitFailure;
}

}  // namespace

int main(int argc, char** argv) {
  return run_main(kProgram, run, argc, argv);
}
