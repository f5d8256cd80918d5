/* nic_guest: a traffic source and sink over the guest's NIC (virtio-net or e1000), driven by the
 * command line and reporting on the serial console:
 *   nic=virtio|e1000   which driver (default: the first found, virtio first)
 *   send=N size=S      transmit N test frames of S bytes (ethertype 0x88b5, sequence numbered)
 *   recv=M             then receive until M test frames or an end frame arrived
 *   echo=1             send every received test frame back, addresses swapped
 *   window=W           while sending, keep at most W frames unanswered (frames the peer reflects
 *                      count as answers): with a reflecting peer, nothing can overrun a ring
 *   batch=B            ring the transmit doorbell after every B frames (default: only when the
 *                      ring is full or sending ends), as a driver without batching does with B=1;
 *                      the device's notification suppression then decides what a doorbell costs
 *   rx_any=1           count any frame toward recv=M, not only test frames (for traffic
 *                      generators such as testpmd's txonly mode)
 *   msix=1             (e1000 driver on an 82574L) first check that an MSI-X interrupt reaches
 *                      the guest's local APIC
 *   fault=ud|pf        (tests of the exception handler) before anything else, execute ud2 or
 *                      read FAULT_ADDRESS, which is not mapped
 * The receive report's cycles run from the first frame received to the last, so a sender that
 * starts late does not dilute the rate.
 * Test frames carry "RLG1", a 32-bit sequence number and a byte pattern derived from it, so the
 * peer can check each one; an "RLGE" frame ends the receive phase. The last report before "done"
 * counts the device errors the driver caught (nic.h). */
#include "cmdline.h"
#include "console.h"
#include "nic.h"
#include "runtime.h"

#define ETHERTYPE_TEST 0x88b5
#define FRAME_MAX 1514
#define HEADER_LEN 22 /* Ethernet header, magic, sequence number */
/* Above the 4 GiB entry.S maps, so a read faults (#PF); tests look for it in CR2. */
#define FAULT_ADDRESS 0x123456780ull

/* Kept out of line so a test can find the faulting RIP inside this function's symbol. */
__attribute__((noinline)) static void raise_fault(void) {
  if (cmdline_is("fault", "ud", 0)) __asm__ volatile("ud2");
  if (cmdline_is("fault", "pf", 0)) (void)*(volatile uint64_t*)FAULT_ADDRESS;
}

/* About a second at a few GHz: the guest does not know its TSC's rate. */
#define STALL_CYCLES (1ull << 32)

static uint64_t device_errors[DEVICE_ERROR_KINDS];
static uint64_t device_errors_total;

int device_error(enum device_error kind) {
  ++device_errors_total;
  return device_errors[kind]++ == 0;
}

int device_stalled(uint64_t* since) {
  if (device_errors_total == 0) return 0; /* no rdtsc on the path of a healthy device */
  uint64_t now = rdtsc();
  if (*since == 0) *since = now;
  return now - *since > STALL_CYCLES;
}

/* give_up=CYCLES: frames may be lost on the way (a backend killed under the guest's traffic);
 * waiting this long without an answer gives the unanswered ones up instead of waiting forever.
 * A full transmit ring is waited out whatever the time: a backend may hold it for a while. */
static uint64_t give_up_cycles;

static int no_answer_for_too_long(uint64_t* since) {
  if (give_up_cycles == 0) return 0;
  uint64_t now = rdtsc();
  if (*since == 0) *since = now;
  return now - *since > give_up_cycles;
}

static void report_device_errors(void) {
  const uint64_t* n = device_errors;
  print("ringlane-guest: device errors %lu (double %lu, bad id %lu, overrun %lu, bad length %lu)\n",
        device_errors_total, n[DEVICE_ERROR_DOUBLE], n[DEVICE_ERROR_BAD_ID],
        n[DEVICE_ERROR_OVERRUN], n[DEVICE_ERROR_BAD_LENGTH]);
}

static void build_frame(uint8_t* f, const uint8_t* src_mac, uint32_t seq, uint32_t len) {
  memset(f, 0xff, 6); /* broadcast: the peer takes whatever the guest sends */
  memcpy(f + 6, src_mac, 6);
  f[12] = ETHERTYPE_TEST >> 8;
  f[13] = ETHERTYPE_TEST & 0xff;
  memcpy(f + 14, "RLG1", 4);
  memcpy(f + 18, &seq, 4);
  for (uint32_t i = HEADER_LEN; i < len; ++i) f[i] = (uint8_t)(seq + i);
}

/* 1 for a well-formed test frame (pattern included), 2 for an end frame, 0 for anything else. */
static int classify(const uint8_t* f, uint32_t len, uint32_t* seq) {
  if (len < HEADER_LEN || f[12] != (ETHERTYPE_TEST >> 8) || f[13] != (ETHERTYPE_TEST & 0xff)) {
    return 0;
  }
  if (memcmp(f + 14, "RLGE", 4) == 0) return 2;
  if (memcmp(f + 14, "RLG1", 4) != 0) return 0;
  memcpy(seq, f + 18, 4);
  for (uint32_t i = HEADER_LEN; i < len; ++i) {
    if (f[i] != (uint8_t)(*seq + i)) return 0;
  }
  return 1;
}

/* Retries while the ring is full; 0 when the device erred and stalled (the frame is not sent). */
static int send_one(struct nic* nic, const uint8_t* frame, uint32_t len) {
  uint64_t since = 0;
  while (!nic->send(nic, frame, len)) {
    nic->flush(nic);
    if (device_stalled(&since)) return 0;
  }
  return 1;
}

#define SEQ_TRACKED (1u << 23) /* 8 Mi frames: enough for the long switch stress run */

static uint8_t frame[FRAME_MAX];
static uint8_t seen[SEQ_TRACKED / 8]; /* sequence numbers received, to find duplicates */

static struct {
  uint64_t good, bad, other, echoed, out_of_order, duplicates;
  uint64_t given_up;            /* frames sent whose answers were given up on (give_up=) */
  uint64_t first_tsc, last_tsc; /* when the first and the latest frame arrived */
  uint32_t expected;
  int echo;
  int ended; /* an end frame arrived */
} rx;

/* Takes one frame from the NIC if there is one; returns 0 when there was none. */
static int poll_receive(struct nic* nic) {
  uint32_t len = nic->receive(nic, frame, sizeof(frame));
  if (len == 0) return 0;
  rx.last_tsc = rdtsc();
  if (rx.first_tsc == 0) rx.first_tsc = rx.last_tsc;
  uint32_t seq = 0;
  int kind = classify(frame, len, &seq);
  if (kind == 2) {
    rx.ended = 1;
    return 1;
  }
  if (kind == 0) {
    /* Our own test ethertype but a broken body is a corruption; other traffic (the host's IPv6
     * neighbour discovery on a TAP) is just not ours. */
    if (len >= 14 && frame[12] == (ETHERTYPE_TEST >> 8) && frame[13] == (ETHERTYPE_TEST & 0xff)) {
      ++rx.bad;
    } else {
      ++rx.other;
    }
    return 1;
  }
  ++rx.good;
  if (seq != rx.expected) ++rx.out_of_order;
  rx.expected = seq + 1;
  if (seq < SEQ_TRACKED) {
    if (seen[seq / 8] & (1u << (seq % 8))) ++rx.duplicates;
    seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
  }
  if (rx.echo) {
    uint8_t mac[6];
    memcpy(mac, frame + 6, 6);
    memcpy(frame, mac, 6);
    memcpy(frame + 6, nic->mac, 6);
    if (send_one(nic, frame, len)) ++rx.echoed;
  }
  return 1;
}

/* Frames sent and neither answered nor given up on (negative once late answers to frames given
 * up on arrive). */
static int64_t unanswered(uint64_t seq) {
  return (int64_t)(seq - rx.good - rx.given_up);
}

/* Waits until fewer than `window` frames are unanswered; 0 when the device erred and stalled.
 * With give_up=, answers that do not come are given up on and sending goes on. */
static int wait_for_window(struct nic* nic, uint64_t seq, uint64_t window) {
  if (unanswered(seq) < (int64_t)window) return 1;
  nic->flush(nic); /* answers come back only once the device has our frames */
  uint64_t since = 0;
  while (unanswered(seq) >= (int64_t)window) {
    if (poll_receive(nic)) {
      since = 0;
    } else if (device_stalled(&since)) {
      return 0;
    } else if (no_answer_for_too_long(&since)) {
      rx.given_up += (uint64_t)unanswered(seq);
      since = 0;
    }
  }
  return 1;
}

/* The send phase: how many frames went out (fewer than `count` when the device stalled). */
static uint64_t send_frames(struct nic* nic, uint64_t count, uint64_t size, uint64_t window,
                            uint64_t batch) {
  for (uint64_t seq = 0; seq < count; ++seq) {
    int sent = window == 0 || wait_for_window(nic, seq, window);
    if (sent) {
      build_frame(frame, nic->mac, (uint32_t)seq, (uint32_t)size);
      sent = send_one(nic, frame, (uint32_t)size);
    }
    if (!sent) {
      print("ringlane-guest: the device erred and stalled: sending ends at frame %lu\n", seq);
      return seq;
    }
    if (batch != 0 && (seq + 1) % batch == 0) nic->flush(nic);
    if (window != 0) poll_receive(nic);
  }
  return count;
}

/* The receive phase: until `want` frames or an end frame arrived, or the device stalled. */
static void receive_frames(struct nic* nic, uint64_t want, int rx_any) {
  uint64_t since = 0;
  while ((rx_any ? rx.good + rx.other : rx.good) < want && !rx.ended) {
    if (poll_receive(nic)) {
      since = 0;
      continue;
    }
    if (rx.echo) nic->flush(nic);
    if (device_stalled(&since)) {
      print("ringlane-guest: the device erred and stalled: receiving ends\n");
      return;
    }
    if (no_answer_for_too_long(&since)) {
      print("ringlane-guest: no frame for give_up cycles: receiving ends\n");
      return;
    }
  }
}

void guest_main(uint64_t start_info) {
  cmdline_init(start_info);
  raise_fault();
  struct nic nic;
  int found = 0;
  if (cmdline_is("nic", "virtio", 1)) found = virtio_net_probe(&nic);
  if (!found && cmdline_is("nic", "e1000", 1)) found = e1000_probe(&nic);
  if (!found) {
    print("ringlane-guest: no NIC\n");
    return;
  }
  print("ringlane-guest: nic %s mac %02x:%02x:%02x:%02x:%02x:%02x\n", nic.name, nic.mac[0],
        nic.mac[1], nic.mac[2], nic.mac[3], nic.mac[4], nic.mac[5]);

  if (cmdline_is("msix", "1", 0)) {
    int delivered = e1000_msix_check(); /* -1 unless the e1000 driver runs an 82574L */
    print("ringlane-guest: msix %s\n", delivered == 1   ? "interrupt delivered"
                                       : delivered == 0 ? "interrupt not delivered"
                                                        : "check not available");
  }

  uint64_t count = cmdline_number("send", 0);
  uint64_t size = cmdline_number("size", 64);
  uint64_t window = cmdline_number("window", 0);
  uint64_t batch = cmdline_number("batch", 0);
  uint64_t want = cmdline_number("recv", 0);
  rx.echo = cmdline_is("echo", "1", 0);
  give_up_cycles = cmdline_number("give_up", 0);
  if (size < HEADER_LEN || size > FRAME_MAX) size = 64;
  uint64_t start = rdtsc();
  count = send_frames(&nic, count, size, window, batch);
  nic.drain(&nic);
  print("ringlane-guest: sent %lu frames of %lu bytes in %lu cycles\n", count, size,
        rdtsc() - start);

  rx.first_tsc = 0;
  receive_frames(&nic, want, cmdline_is("rx_any", "1", 0));
  nic.drain(&nic);
  print(
      "ringlane-guest: received %lu frames (%lu bad, %lu out of order, %lu duplicate, %lu other) "
      "in %lu cycles, echoed %lu\n",
      rx.good, rx.bad, rx.out_of_order, rx.duplicates, rx.other,
      rx.first_tsc == 0 ? 0 : rx.last_tsc - rx.first_tsc, rx.echoed);
  report_device_errors();
  if (give_up_cycles != 0) print("ringlane-guest: gave up on %lu unanswered frames\n", rx.given_up);
  print("ringlane-guest: done\n");
}
