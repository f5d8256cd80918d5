// blkverify: a verifying write workload for a block device (or a file), run in a test guest on
// /dev/vda while the host kills and restarts the vhost-user-blk backend under it
// (tests/integration/test_blk_crash.py), and on the host against the image afterwards.
//
// Writers (--threads, 8 by default, so that many writes are in flight at once) write 4 KiB
// blocks with O_DIRECT to random block numbers in [0, --blocks). Thread t owns the blocks with
// block % threads == t, so a block's writes are ordered: the next one starts after the last one
// returned. Every block carries a header (magic, block number, sequence number, CRC32 of the
// whole block with the CRC field zeroed) and a payload derived from block and sequence number;
// sequence numbers are unique and increase over the whole run. A write whose pwrite returned is
// acknowledged: the block must hold it (or a later write of its own) from then on. Readers
// (--readers, none by default) read --read-kib (256) at random places meanwhile, unchecked: long
// requests beside short ones, so that the device completes them out of order.
//
// After the run (--seconds, --writes in all, or until the block --stop-block holds the line
// "BLKVERIFY STOP", which the host writes into the image: a reader thread looks twice a second;
// then the writers stop after their current write, or are given --drain-seconds) every block
// ever written is read back with O_DIRECT and checked:
//   torn   the CRC does not match (a part of the block old, a part new, or garbage)
//   lost   an intact block older than the acknowledged write (or zeros where one was written)
//   wrong  an intact block that is not the expected content: another block's data, a sequence
//          number newer than any write issued to the block
//   ok     exactly the acknowledged write, or the one write still in flight when a writer
//          failed or hung (counted as pending)
// Output: a progress line `BLKVERIFY writes=N ...` every --interval seconds (1), then
// `BLKVERIFY verified=B lost=L torn=T wrong=W pending=P`.
//
// --save-state stores the acknowledged (and pending) sequence numbers after the data blocks
// (blocks [blocks, blocks + state blocks)); --verify-only reads them back and verifies without
// writing, so the host can check the image file once the guest is gone. --corrupt-one (flip a
// byte of one acknowledged block) and --lose-one (put an older, intact version of one block back)
// damage the store on purpose before the verification, to prove the check can fail.
//
// Exit status: 0 all blocks verified, 1 a verification failure, 2 usage, 3 an I/O error or a
// writer that never returned (the verification still runs and is reported).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BLOCK_SIZE 4096u
#define BLOCK_MAGIC UINT64_C(0x4b4c4256524c4e31)  // "1NLRVBLK" little-endian
#define STATE_MAGIC UINT64_C(0x54534256524c4e31)  // "1NLRVBST"
#define MAX_THREADS 256
#define STOP_MARK "BLKVERIFY STOP\n"

struct block_header {
  uint64_t magic;
  uint64_t block;
  uint64_t seq;
  uint32_t crc;  // CRC32 of the whole block with this field zero
  uint32_t writer;
};

struct state_header {
  uint64_t magic;
  uint64_t blocks;
  uint64_t written;  // blocks with an acknowledged or pending write
  uint32_t crc;      // CRC32 of the state region with this field zero
  uint32_t unused;
};

struct options {
  const char* path;
  uint64_t blocks;
  unsigned threads;
  double seconds;
  uint64_t writes;  // 0: no limit but the time
  double drain_seconds;
  double interval;  // between progress lines
  unsigned readers;
  unsigned read_kib;
  int64_t stop_block;  // -1: none
  bool save_state;
  bool verify_only;
  bool corrupt_one;
  bool lose_one;
};

static struct options opt = {.blocks = 4096,
                             .threads = 8,
                             .seconds = 30,
                             .drain_seconds = 120,
                             .interval = 1,
                             .read_kib = 256,
                             .stop_block = -1};
static int fd = -1;
// Per block: the last acknowledged sequence number, and the one being written (equal to acked
// when none is in flight). 0: never written. Only the owning writer stores them; the main thread
// reads them after the writers ended (or gave up waiting for them).
static _Atomic uint64_t* acked;
static _Atomic uint64_t* pending;
static atomic_uint_fast64_t next_seq;
static atomic_uint_fast64_t total_writes;
static atomic_uint_fast64_t io_errors;
static atomic_bool stop;
static atomic_uint running_threads;  // writers and readers
static atomic_uint_fast64_t total_reads;
static atomic_uint writer_in_pwrite[MAX_THREADS];

static uint32_t crc_table[256];

static void crc_init(void) {
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    crc_table[i] = c;
  }
}

static uint32_t crc32_of(const void* data, size_t len) {
  const uint8_t* p = data;
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < len; ++i) c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

// CRC of a block (or the state region) with its 32-bit CRC field at `at` taken as zero.
static uint32_t crc_with_field_zero(uint8_t* data, size_t len, size_t at) {
  uint32_t saved;
  memcpy(&saved, data + at, sizeof(saved));
  memset(data + at, 0, sizeof(saved));
  uint32_t c = crc32_of(data, len);
  memcpy(data + at, &saved, sizeof(saved));
  return c;
}

static uint64_t splitmix64(uint64_t* s) {
  uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

// The block `block` carries when written with sequence number `seq`.
static void fill_block(uint8_t* buf, uint64_t block, uint64_t seq, unsigned writer) {
  uint64_t s = seq * UINT64_C(0x100000001b3) ^ block;
  for (size_t i = 0; i < BLOCK_SIZE; i += 8) {
    uint64_t v = splitmix64(&s);
    memcpy(buf + i, &v, 8);
  }
  struct block_header h = {
      .magic = BLOCK_MAGIC, .block = block, .seq = seq, .crc = 0, .writer = writer};
  memcpy(buf, &h, sizeof(h));
  h.crc = crc32_of(buf, BLOCK_SIZE);
  memcpy(buf, &h, sizeof(h));
}

static void* aligned_block(size_t size) {
  void* p = NULL;
  if (posix_memalign(&p, BLOCK_SIZE, size) != 0) {
    fprintf(stderr, "blkverify: out of memory\n");
    exit(3);
  }
  return p;
}

static bool write_all(const void* buf, size_t len, uint64_t offset, const char* what) {
  ssize_t n = pwrite(fd, buf, len, (off_t)offset);
  if (n == (ssize_t)len) return true;
  printf("BLKVERIFY error: %s at byte %" PRIu64 ": %s\n", what, offset,
         n < 0 ? strerror(errno) : "short write");
  fflush(stdout);
  return false;
}

static bool read_all(void* buf, size_t len, uint64_t offset, const char* what) {
  ssize_t n = pread(fd, buf, len, (off_t)offset);
  if (n == (ssize_t)len) return true;
  printf("BLKVERIFY error: %s at byte %" PRIu64 ": %s\n", what, offset,
         n < 0 ? strerror(errno) : "short read");
  fflush(stdout);
  return false;
}

static void* writer(void* arg) {
  unsigned t = (unsigned)(uintptr_t)arg;
  uint8_t* buf = aligned_block(BLOCK_SIZE);
  uint64_t owned = (opt.blocks - t + opt.threads - 1) / opt.threads;  // t, t+T, t+2T... < blocks
  uint64_t rng = UINT64_C(0x5eed) + t;
  while (!atomic_load(&stop) && owned > 0) {
    uint64_t block = t + (splitmix64(&rng) % owned) * opt.threads;
    uint64_t seq = atomic_fetch_add(&next_seq, 1) + 1;
    fill_block(buf, block, seq, t);
    atomic_store_explicit(&pending[block], seq, memory_order_relaxed);
    atomic_store(&writer_in_pwrite[t], 1);
    bool ok = write_all(buf, BLOCK_SIZE, block * BLOCK_SIZE, "write");
    atomic_store(&writer_in_pwrite[t], 0);
    if (!ok) {
      // The block holds the acknowledged or the failed write: the verification takes either.
      atomic_fetch_add(&io_errors, 1);
      atomic_store(&stop, true);
      break;
    }
    atomic_store_explicit(&acked[block], seq, memory_order_relaxed);
    uint64_t n = atomic_fetch_add(&total_writes, 1) + 1;
    if (opt.writes && n >= opt.writes) atomic_store(&stop, true);
  }
  free(buf);
  atomic_fetch_sub(&running_threads, 1);
  return NULL;
}

// Reads the stop block twice a second until it holds STOP_MARK (written by the host into the
// image) or the run stops otherwise. A thread of its own: its reads stall with the device's.
static void* stop_poller(void* arg) {
  (void)arg;
  uint8_t* buf = aligned_block(BLOCK_SIZE);
  struct timespec half = {.tv_sec = 0, .tv_nsec = 500 * 1000 * 1000};
  while (!atomic_load(&stop)) {
    nanosleep(&half, NULL);
    if (pread(fd, buf, BLOCK_SIZE, (off_t)((uint64_t)opt.stop_block * BLOCK_SIZE)) !=
        (ssize_t)BLOCK_SIZE)
      continue;  // a read that fails while the backend is away: try again
    if (memcmp(buf, STOP_MARK, strlen(STOP_MARK)) == 0) {
      printf("BLKVERIFY stop requested\n");
      fflush(stdout);
      atomic_store(&stop, true);
    }
  }
  free(buf);
  return NULL;
}

// Large O_DIRECT reads at random places of the data blocks, their content unchecked: requests
// that take longer than the writes beside them, so the device completes out of order.
static void* reader(void* arg) {
  uint64_t rng = UINT64_C(0x7eade7) + (uintptr_t)arg;
  size_t size = (size_t)opt.read_kib * 1024;
  uint64_t places = opt.blocks * BLOCK_SIZE / size;
  uint8_t* buf = aligned_block(size);
  while (!atomic_load(&stop) && places > 0) {
    if (!read_all(buf, size, (splitmix64(&rng) % places) * size, "read")) {
      atomic_fetch_add(&io_errors, 1);
      atomic_store(&stop, true);
      break;
    }
    atomic_fetch_add(&total_reads, 1);
  }
  free(buf);
  atomic_fetch_sub(&running_threads, 1);
  return NULL;
}

static unsigned writers_in_pwrite(void) {
  unsigned n = 0;
  for (unsigned t = 0; t < opt.threads; ++t) n += atomic_load(&writer_in_pwrite[t]);
  return n;
}

// The run: start the writers and readers, report progress every --interval, stop them, wait
// for them. Returns false when one never came back from its I/O.
static bool run_writers(void) {
  pthread_t tid[2 * MAX_THREADS];
  double start = now_seconds();
  unsigned all = opt.threads + opt.readers;
  atomic_store(&running_threads, all);
  for (unsigned t = 0; t < all; ++t) {
    int err = pthread_create(&tid[t], NULL, t < opt.threads ? writer : reader,
                             (void*)(uintptr_t)(t < opt.threads ? t : t - opt.threads));
    if (err) {
      fprintf(stderr, "blkverify: pthread_create: %s\n", strerror(err));
      exit(3);
    }
  }
  if (opt.stop_block >= 0) {
    pthread_t poller;
    int err = pthread_create(&poller, NULL, stop_poller, NULL);
    if (err) {
      fprintf(stderr, "blkverify: pthread_create: %s\n", strerror(err));
      exit(3);
    }
    pthread_detach(poller);
  }
  uint64_t last = 0;
  double last_t = start, stop_at = start + opt.seconds, give_up_at = 0;
  for (;;) {
    struct timespec tick = {.tv_sec = 0, .tv_nsec = 100 * 1000 * 1000};
    double next = last_t + opt.interval;
    while (now_seconds() < next && atomic_load(&running_threads) > 0) nanosleep(&tick, NULL);
    double t = now_seconds();
    uint64_t n = atomic_load(&total_writes);
    printf("BLKVERIFY writes=%" PRIu64 " rate=%.0f t=%.1f inflight=%u threads=%u reads=%" PRIu64
           "%s\n",
           n, (double)(n - last) / (t - last_t), t - start, writers_in_pwrite(),
           (unsigned)atomic_load(&running_threads), (uint64_t)atomic_load(&total_reads),
           atomic_load(&stop) ? " stopping" : "");
    fflush(stdout);
    last = n;
    last_t = t;
    if (atomic_load(&running_threads) == 0) break;
    if (!atomic_load(&stop) && t >= stop_at) atomic_store(&stop, true);
    if (atomic_load(&stop) && give_up_at == 0) give_up_at = t + opt.drain_seconds;
    if (give_up_at != 0 && t >= give_up_at) {
      printf("BLKVERIFY hung threads=%u: still in I/O %.0f s after the stop\n",
             (unsigned)atomic_load(&running_threads), opt.drain_seconds);
      fflush(stdout);
      return false;
    }
  }
  for (unsigned t = 0; t < all; ++t) pthread_join(tid[t], NULL);
  printf("BLKVERIFY done writes=%" PRIu64 " seconds=%.1f io_errors=%" PRIu64 "\n",
         (uint64_t)atomic_load(&total_writes), now_seconds() - start,
         (uint64_t)atomic_load(&io_errors));
  fflush(stdout);
  return true;
}

static uint64_t state_blocks(void) {
  uint64_t bytes = sizeof(struct state_header) + opt.blocks * 2 * sizeof(uint64_t);
  return (bytes + BLOCK_SIZE - 1) / BLOCK_SIZE;
}

static bool save_state(void) {
  uint64_t size = state_blocks() * BLOCK_SIZE;
  uint8_t* buf = aligned_block(size);
  memset(buf, 0, size);
  struct state_header h = {.magic = STATE_MAGIC, .blocks = opt.blocks};
  uint64_t* table = (uint64_t*)(buf + sizeof(h));
  for (uint64_t b = 0; b < opt.blocks; ++b) {
    table[2 * b] = atomic_load(&acked[b]);
    table[2 * b + 1] = atomic_load(&pending[b]);
    if (table[2 * b + 1]) ++h.written;
  }
  memcpy(buf, &h, sizeof(h));
  h.crc = crc32_of(buf, size);
  memcpy(buf, &h, sizeof(h));
  bool ok = write_all(buf, size, opt.blocks * BLOCK_SIZE, "state write") && fsync(fd) == 0;
  free(buf);
  if (ok)
    printf("BLKVERIFY state saved blocks=%" PRIu64 " written=%" PRIu64 "\n", opt.blocks, h.written);
  fflush(stdout);
  return ok;
}

static bool load_state(void) {
  uint64_t size = state_blocks() * BLOCK_SIZE;
  uint8_t* buf = aligned_block(size);
  if (!read_all(buf, size, opt.blocks * BLOCK_SIZE, "state read")) return false;
  struct state_header h;
  memcpy(&h, buf, sizeof(h));
  if (h.magic != STATE_MAGIC || h.blocks != opt.blocks ||
      h.crc != crc_with_field_zero(buf, size, offsetof(struct state_header, crc))) {
    printf("BLKVERIFY error: no intact state for %" PRIu64 " blocks after the data blocks\n",
           opt.blocks);
    fflush(stdout);
    free(buf);
    return false;
  }
  const uint64_t* table = (const uint64_t*)(buf + sizeof(h));
  for (uint64_t b = 0; b < opt.blocks; ++b) {
    atomic_store(&acked[b], table[2 * b]);
    atomic_store(&pending[b], table[2 * b + 1]);
  }
  free(buf);
  return true;
}

// A block to damage on purpose: the first acknowledged one with nothing in flight and an older
// version to put back (seq > 1).
static int64_t victim(void) {
  for (uint64_t b = 0; b < opt.blocks; ++b) {
    uint64_t a = atomic_load(&acked[b]);
    if (a > 1 && atomic_load(&pending[b]) == a) return (int64_t)b;
  }
  return -1;
}

static bool damage(void) {
  int64_t b = victim();
  if (b < 0) {
    printf("BLKVERIFY error: no acknowledged block to damage\n");
    return false;
  }
  uint8_t* buf = aligned_block(BLOCK_SIZE);
  bool ok;
  if (opt.corrupt_one) {
    ok = read_all(buf, BLOCK_SIZE, (uint64_t)b * BLOCK_SIZE, "read to corrupt");
    buf[BLOCK_SIZE / 2] ^= 0x01;  // the second half, as if the write had torn there
    ok = ok && write_all(buf, BLOCK_SIZE, (uint64_t)b * BLOCK_SIZE, "corrupting write");
    printf("BLKVERIFY corrupted block=%" PRId64 "\n", b);
  } else {
    fill_block(buf, (uint64_t)b, atomic_load(&acked[b]) - 1, 0);
    ok = write_all(buf, BLOCK_SIZE, (uint64_t)b * BLOCK_SIZE, "losing write");
    printf("BLKVERIFY put back an older version of block=%" PRId64 "\n", b);
  }
  fflush(stdout);
  free(buf);
  return ok;
}

static bool all_zero(const uint8_t* p, size_t len) {
  for (size_t i = 0; i < len; ++i)
    if (p[i]) return false;
  return true;
}

static int report_limit = 20;

static void report(const char* what, uint64_t block, uint64_t found, uint64_t a, uint64_t p) {
  if (report_limit-- > 0)
    printf("BLKVERIFY %s block=%" PRIu64 " found_seq=%" PRIu64 " acked_seq=%" PRIu64
           " pending_seq=%" PRIu64 "\n",
           what, block, found, a, p);
}

// Reads back every block ever written and checks it. Returns true when all are intact and hold
// the acknowledged write (or the one still pending).
static bool verify(void) {
  uint8_t* buf = aligned_block(BLOCK_SIZE);
  uint8_t* expect = aligned_block(BLOCK_SIZE);
  uint64_t verified = 0, lost = 0, torn = 0, wrong = 0, unreadable = 0, in_flight = 0;
  for (uint64_t b = 0; b < opt.blocks; ++b) {
    uint64_t a = atomic_load(&acked[b]), p = atomic_load(&pending[b]);
    if (p == 0) continue;  // never written
    ++verified;
    if (!read_all(buf, BLOCK_SIZE, b * BLOCK_SIZE, "verifying read")) {
      ++unreadable;
      continue;
    }
    struct block_header h;
    memcpy(&h, buf, sizeof(h));
    bool intact = h.magic == BLOCK_MAGIC &&
                  h.crc == crc_with_field_zero(buf, BLOCK_SIZE, offsetof(struct block_header, crc));
    if (!intact) {
      if (all_zero(buf, BLOCK_SIZE) && a != 0) {
        ++lost;  // never written, as far as the store knows
        report("lost (zeros)", b, 0, a, p);
      } else if (all_zero(buf, BLOCK_SIZE)) {
        ++in_flight;  // only a write that never returned went to it
      } else {
        ++torn;
        report("torn", b, h.magic == BLOCK_MAGIC ? h.seq : 0, a, p);
      }
      continue;
    }
    if (h.block != b) {
      ++wrong;
      report("wrong (another block's data)", b, h.seq, a, p);
      continue;
    }
    if (h.seq != a && h.seq != p) {
      if (h.seq < a) {
        ++lost;
        report("lost", b, h.seq, a, p);
      } else {
        ++wrong;
        report("wrong (newer than any write)", b, h.seq, a, p);
      }
      continue;
    }
    fill_block(expect, b, h.seq, h.writer);
    if (memcmp(buf, expect, BLOCK_SIZE) != 0) {
      ++wrong;  // intact by its CRC, yet not what that write wrote
      report("wrong (content)", b, h.seq, a, p);
      continue;
    }
    if (h.seq != a) ++in_flight;
  }
  free(buf);
  free(expect);
  printf("BLKVERIFY verified=%" PRIu64 " lost=%" PRIu64 " torn=%" PRIu64 " wrong=%" PRIu64
         " pending=%" PRIu64 " unreadable=%" PRIu64 "\n",
         verified, lost, torn, wrong, in_flight, unreadable);
  fflush(stdout);
  return lost == 0 && torn == 0 && wrong == 0 && unreadable == 0;
}

static void usage(void) {
  fprintf(stderr,
          "usage: blkverify DEVICE [--blocks N] [--threads T] [--readers R] [--read-kib K]\n"
          "                 [--seconds S] [--writes W] [--drain-seconds S] [--interval S]\n"
          "                 [--stop-block K] [--save-state] [--verify-only]\n"
          "                 [--corrupt-one | --lose-one]\n");
  exit(2);
}

static double number(const char* flag, const char* text, double min, double max) {
  char* end;
  errno = 0;
  double v = strtod(text, &end);
  if (errno || end == text || *end || !(v >= min && v <= max)) {
    fprintf(stderr, "blkverify: %s wants a number in [%g, %g], not '%s'\n", flag, min, max, text);
    exit(2);
  }
  return v;
}

static void parse(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : NULL;
    bool takes = true;
    if (!strcmp(a, "--blocks") && value)
      opt.blocks = (uint64_t)number(a, value, 1, 1 << 26);
    else if (!strcmp(a, "--threads") && value)
      opt.threads = (unsigned)number(a, value, 1, MAX_THREADS);
    else if (!strcmp(a, "--seconds") && value)
      opt.seconds = number(a, value, 0, 1e7);
    else if (!strcmp(a, "--writes") && value)
      opt.writes = (uint64_t)number(a, value, 1, 1e15);
    else if (!strcmp(a, "--drain-seconds") && value)
      opt.drain_seconds = number(a, value, 0, 1e7);
    else if (!strcmp(a, "--readers") && value)
      opt.readers = (unsigned)number(a, value, 0, MAX_THREADS);
    else if (!strcmp(a, "--read-kib") && value)
      opt.read_kib = (unsigned)number(a, value, 4, 65536);
    else if (!strcmp(a, "--interval") && value)
      opt.interval = number(a, value, 0.01, 3600);
    else if (!strcmp(a, "--stop-block") && value)
      opt.stop_block = (int64_t)number(a, value, 0, 1e15);
    else {
      takes = false;
      if (!strcmp(a, "--save-state"))
        opt.save_state = true;
      else if (!strcmp(a, "--verify-only"))
        opt.verify_only = true;
      else if (!strcmp(a, "--corrupt-one"))
        opt.corrupt_one = true;
      else if (!strcmp(a, "--lose-one"))
        opt.lose_one = true;
      else if (a[0] != '-' && !opt.path)
        opt.path = a;
      else
        usage();
    }
    if (takes) ++i;
  }
  if (!opt.path || (opt.corrupt_one && opt.lose_one) ||
      (opt.verify_only && (opt.corrupt_one || opt.lose_one || opt.save_state)))
    usage();
  if (opt.read_kib % (BLOCK_SIZE / 1024)) usage();
  if (opt.threads > opt.blocks) opt.threads = (unsigned)opt.blocks;
}

int main(int argc, char** argv) {
  parse(argc, argv);
  crc_init();
  fd = open(opt.path, (opt.verify_only ? O_RDONLY : O_RDWR) | O_DIRECT);
  if (fd < 0) {
    fprintf(stderr, "blkverify: %s: %s\n", opt.path, strerror(errno));
    return 3;
  }
  uint64_t need = (opt.blocks + state_blocks()) * BLOCK_SIZE;
  off_t size = lseek(fd, 0, SEEK_END);
  if (size < 0 || (uint64_t)size < need) {
    fprintf(stderr,
            "blkverify: %s holds %lld bytes; %" PRIu64 " blocks and their state need %" PRIu64 "\n",
            opt.path, (long long)size, opt.blocks, need);
    return 2;
  }
  if (opt.stop_block >= 0 && ((uint64_t)opt.stop_block < opt.blocks + state_blocks() ||
                              (uint64_t)(opt.stop_block + 1) * BLOCK_SIZE > (uint64_t)size)) {
    fprintf(stderr,
            "blkverify: --stop-block %" PRId64
            " is not after the data and state blocks "
            "and on the device\n",
            opt.stop_block);
    return 2;
  }
  if (opt.stop_block >= 0 && !opt.verify_only) {
    uint8_t* buf = aligned_block(BLOCK_SIZE);
    bool marked =
        read_all(buf, BLOCK_SIZE, (uint64_t)opt.stop_block * BLOCK_SIZE, "stop block read") &&
        memcmp(buf, STOP_MARK, strlen(STOP_MARK)) == 0;
    free(buf);
    if (marked) {
      fprintf(stderr, "blkverify: the stop block already asks to stop\n");
      return 2;
    }
  }
  acked = calloc(opt.blocks, sizeof(*acked));
  pending = calloc(opt.blocks, sizeof(*pending));
  if (!acked || !pending) {
    fprintf(stderr, "blkverify: out of memory\n");
    return 3;
  }
  printf("BLKVERIFY start path=%s blocks=%" PRIu64 " threads=%u readers=%u seconds=%g%s\n",
         opt.path, opt.blocks, opt.threads, opt.readers, opt.seconds,
         opt.verify_only ? " verify-only" : "");
  fflush(stdout);
  bool finished = true, io_ok = true;
  if (opt.verify_only) {
    if (!load_state()) return 3;
  } else {
    finished = run_writers();
    io_ok = atomic_load(&io_errors) == 0;
    if (finished && (opt.corrupt_one || opt.lose_one) && !damage()) return 3;
  }
  bool good = verify();
  if (opt.save_state && finished && !save_state()) io_ok = false;
  if (!finished || !io_ok) {
    printf("BLKVERIFY failed: %s\n", finished ? "I/O errors" : "writers hung");
    fflush(stdout);
    _exit(3);  // hung writers cannot be joined
  }
  return good ? 0 : 1;
}
