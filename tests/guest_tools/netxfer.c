// netxfer: moves a number of bytes over one TCP connection and prints the SHA-256 of what it sent
// or received, so both ends of a transfer through the switch can be compared
// (tests/integration/test_uplink_pvp.py runs it in a test guest and in a network namespace on the
// host). Statically linked: the guests' initramfs has no libraries.
//
//   netxfer send ADDR PORT BYTES [--seed N] [--timeout S] [--connect-timeout S]
//       connects to ADDR:PORT (retrying while nobody listens, up to --connect-timeout, 60 s),
//       sends BYTES (suffixes K, M, G: binary) of a pseudo-random stream (xorshift64* from the
//       seed), shuts its side down and waits for the peer to close.
//   netxfer recv PORT [--bind ADDR] [--timeout S]
//       listens on PORT (prints "NETXFER listening port=PORT" once it does), accepts one
//       connection and reads it to its end.
//
// Both print one line at the end:
//   NETXFER sent|received bytes=N sha256=HEX seconds=S mbps=M
// --timeout (120 s by default) bounds every wait on the socket, so a lost connection fails the
// run instead of hanging it. Exit status: 0 done, 1 a socket error or timeout, 2 usage.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (256u * 1024u)

// --- SHA-256 (FIPS 180-4) ------------------------------------------------------------------

struct sha256 {
  uint32_t h[8];
  uint64_t length;  // bytes hashed
  uint8_t block[64];
  size_t used;
};

static const uint32_t k_round[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

static uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void sha256_init(struct sha256* s) {
  static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  memcpy(s->h, iv, sizeof(iv));
  s->length = 0;
  s->used = 0;
}

static void sha256_block(struct sha256* s, const uint8_t* p) {
  uint32_t w[64];
  for (int i = 0; i < 16; ++i) {
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
           p[4 * i + 3];
  }
  for (int i = 16; i < 64; ++i) {
    uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3];
  uint32_t e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
  for (int i = 0; i < 64; ++i) {
    uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) +
                  k_round[i] + w[i];
    uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  s->h[0] += a;
  s->h[1] += b;
  s->h[2] += c;
  s->h[3] += d;
  s->h[4] += e;
  s->h[5] += f;
  s->h[6] += g;
  s->h[7] += h;
}

static void sha256_update(struct sha256* s, const uint8_t* p, size_t n) {
  s->length += n;
  if (s->used) {
    size_t take = 64 - s->used < n ? 64 - s->used : n;
    memcpy(s->block + s->used, p, take);
    s->used += take;
    p += take;
    n -= take;
    if (s->used < 64) return;
    sha256_block(s, s->block);
    s->used = 0;
  }
  for (; n >= 64; p += 64, n -= 64) sha256_block(s, p);
  memcpy(s->block, p, n);
  s->used = n;
}

static void sha256_hex(struct sha256* s, char out[65]) {
  uint64_t bits = s->length * 8;
  uint8_t pad[72] = {0x80};
  size_t padlen = (s->used < 56 ? 56 : 120) - s->used;
  for (int i = 0; i < 8; ++i) pad[padlen + i] = (uint8_t)(bits >> (56 - 8 * i));
  uint64_t length = s->length;
  sha256_update(s, pad, padlen + 8);
  s->length = length;
  for (int i = 0; i < 8; ++i) sprintf(out + 8 * i, "%08" PRIx32, s->h[i]);
}

// --- helpers ---------------------------------------------------------------------------------

static double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int usage(void) {
  fprintf(stderr,
          "usage: netxfer send ADDR PORT BYTES [--seed N] [--timeout S] [--connect-timeout S]\n"
          "       netxfer recv PORT [--bind ADDR] [--timeout S]\n");
  return 2;
}

static int parse_bytes(const char* text, uint64_t* out) {
  char* end;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 10);
  if (errno || end == text) return -1;
  switch (*end) {
    case 'K': v <<= 10; ++end; break;
    case 'M': v <<= 20; ++end; break;
    case 'G': v <<= 30; ++end; break;
    default: break;
  }
  if (*end) return -1;
  *out = v;
  return 0;
}

static int parse_port(const char* text, uint16_t* out) {
  char* end;
  long v = strtol(text, &end, 10);
  if (*end || v <= 0 || v > 65535) return -1;
  *out = (uint16_t)v;
  return 0;
}

static void set_timeout(int fd, int seconds) {
  struct timeval tv = {.tv_sec = seconds};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static void report(const char* what, uint64_t bytes, struct sha256* hash, double seconds) {
  char hex[65];
  sha256_hex(hash, hex);
  printf("NETXFER %s bytes=%" PRIu64 " sha256=%s seconds=%.3f mbps=%.1f\n", what, bytes, hex,
         seconds, seconds > 0 ? (double)bytes * 8 / seconds / 1e6 : 0.0);
  fflush(stdout);
}

// --- send ------------------------------------------------------------------------------------

static int do_send(const char* addr, uint16_t port, uint64_t bytes, uint64_t seed, int timeout,
                   int connect_timeout) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
  if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
    fprintf(stderr, "netxfer: bad IPv4 address %s\n", addr);
    return 2;
  }
  int fd = -1;
  double give_up = now_seconds() + connect_timeout;
  for (;;) {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      perror("netxfer: socket");
      return 1;
    }
    set_timeout(fd, timeout);
    if (connect(fd, (struct sockaddr*)&sa, sizeof(sa)) == 0) break;
    int e = errno;
    close(fd);
    if ((e != ECONNREFUSED && e != EHOSTUNREACH && e != ENETUNREACH) || now_seconds() > give_up) {
      fprintf(stderr, "netxfer: connect %s:%u: %s\n", addr, port, strerror(e));
      return 1;
    }
    usleep(200 * 1000);
  }
  static uint64_t buf[CHUNK / 8];
  struct sha256 hash;
  sha256_init(&hash);
  uint64_t x = seed ? seed : 0x9e3779b97f4a7c15u;
  uint64_t sent = 0;
  double start = now_seconds();
  while (sent < bytes) {
    for (size_t i = 0; i < CHUNK / 8; ++i) {
      x ^= x >> 12;
      x ^= x << 25;
      x ^= x >> 27;
      buf[i] = x * 0x2545f4914f6cdd1du;
    }
    size_t n = bytes - sent < CHUNK ? (size_t)(bytes - sent) : CHUNK;
    sha256_update(&hash, (const uint8_t*)buf, n);
    for (size_t off = 0; off < n;) {
      ssize_t w = write(fd, (const uint8_t*)buf + off, n - off);
      if (w < 0) {
        if (errno == EINTR) continue;
        fprintf(stderr, "netxfer: send after %" PRIu64 " bytes: %s\n", sent + off,
                strerror(errno));
        close(fd);
        return 1;
      }
      off += (size_t)w;
    }
    sent += n;
  }
  shutdown(fd, SHUT_WR);
  // The receiver closes once it has read everything: then the bytes are in.
  char sink[256];
  for (;;) {
    ssize_t r = read(fd, sink, sizeof(sink));
    if (r == 0) break;
    if (r < 0 && errno != EINTR) {
      fprintf(stderr, "netxfer: waiting for the receiver to close: %s\n", strerror(errno));
      close(fd);
      return 1;
    }
  }
  double seconds = now_seconds() - start;
  close(fd);
  report("sent", sent, &hash, seconds);
  return 0;
}

// --- recv ------------------------------------------------------------------------------------

static int do_recv(uint16_t port, const char* bind_addr, int timeout) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
  if (bind_addr && inet_pton(AF_INET, bind_addr, &sa.sin_addr) != 1) {
    fprintf(stderr, "netxfer: bad IPv4 address %s\n", bind_addr);
    return 2;
  }
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(lfd, (struct sockaddr*)&sa, sizeof(sa)) < 0 || listen(lfd, 1) < 0) {
    fprintf(stderr, "netxfer: listen on port %u: %s\n", port, strerror(errno));
    return 1;
  }
  printf("NETXFER listening port=%u\n", port);
  fflush(stdout);
  set_timeout(lfd, timeout);  // accept() honours SO_RCVTIMEO
  int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
  if (fd < 0) {
    fprintf(stderr, "netxfer: accept: %s\n", strerror(errno));
    return 1;
  }
  close(lfd);
  set_timeout(fd, timeout);
  static uint8_t buf[CHUNK];
  struct sha256 hash;
  sha256_init(&hash);
  uint64_t got = 0;
  double start = now_seconds();
  for (;;) {
    ssize_t r = read(fd, buf, sizeof(buf));
    if (r == 0) break;
    if (r < 0) {
      if (errno == EINTR) continue;
      fprintf(stderr, "netxfer: receive after %" PRIu64 " bytes: %s\n", got, strerror(errno));
      close(fd);
      return 1;
    }
    sha256_update(&hash, buf, (size_t)r);
    got += (uint64_t)r;
  }
  double seconds = now_seconds() - start;
  close(fd);
  report("received", got, &hash, seconds);
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  int timeout = 120, connect_timeout = 60;
  uint64_t seed = 1;
  const char* bind_addr = NULL;
  const char* positional[4];
  int npos = 0;
  for (int i = 2; i < argc; ++i) {
    if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
      seed = strtoull(argv[++i], NULL, 0);
    } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
      timeout = atoi(argv[++i]);
    } else if (strcmp(argv[i], "--connect-timeout") == 0 && i + 1 < argc) {
      connect_timeout = atoi(argv[++i]);
    } else if (strcmp(argv[i], "--bind") == 0 && i + 1 < argc) {
      bind_addr = argv[++i];
    } else if (argv[i][0] == '-' || npos == 4) {
      return usage();
    } else {
      positional[npos++] = argv[i];
    }
  }
  if (timeout <= 0 || connect_timeout < 0) return usage();
  uint16_t port;
  if (strcmp(argv[1], "send") == 0 && npos == 3) {
    uint64_t bytes;
    if (parse_port(positional[1], &port) || parse_bytes(positional[2], &bytes)) return usage();
    return do_send(positional[0], port, bytes, seed, timeout, connect_timeout);
  }
  if (strcmp(argv[1], "recv") == 0 && npos == 1) {
    if (parse_port(positional[0], &port)) return usage();
    return do_recv(port, bind_addr, timeout);
  }
  return usage();
}
