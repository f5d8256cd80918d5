/* The exception handler's C half: entry.S's stubs come here at CPL0 with interrupts off. It
 * prints one line on COM1 and resets the machine, as guest_main's return does. It writes the UART
 * itself, waiting for the transmit holding register to empty, instead of going through console.c:
 * the fault may have struck in the middle of a print. */
#include <stdint.h>

#include "runtime.h"

#define COM1 0x3f8
#define COM1_LSR (COM1 + 5)
#define LSR_THR_EMPTY 0x20

/* What exception_common passes: the stub's pushes, then the CPU's. */
struct exception_frame {
  uint64_t vector;
  uint64_t error; /* the CPU's error code, or the stub's 0 for vectors without one */
  uint64_t rip, cs, rflags, rsp, ss;
};

__attribute__((noreturn)) void exception_report(const struct exception_frame* frame, uint64_t cr2);

static void put_char(char c) {
  /* Bounded: a UART that never reports an empty register must not keep the machine alive. */
  for (int i = 0; i < 100000 && (inb(COM1_LSR) & LSR_THR_EMPTY) == 0; ++i) {
  }
  outb(COM1, (uint8_t)c);
}

static void put_string(const char* s) {
  while (*s != 0) put_char(*s++);
}

static void put_decimal(uint64_t v) {
  char digits[20];
  int n = 0;
  do {
    digits[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n > 0) put_char(digits[--n]);
}

static void put_hex(uint64_t v) {
  put_string("0x");
  for (int shift = 60; shift >= 0; shift -= 4) put_char("0123456789abcdef"[(v >> shift) & 0xf]);
}

void exception_report(const struct exception_frame* frame, uint64_t cr2) {
  /* A fault while reporting one would only repeat: the second goes straight to the reset. */
  static int reporting;
  if (!reporting) {
    reporting = 1;
    put_string("ringlane-guest: exception vector ");
    put_decimal(frame->vector);
    put_string(" error ");
    put_hex(frame->error);
    put_string(" rip ");
    put_hex(frame->rip);
    put_string(" cr2 ");
    put_hex(cr2);
    put_string("\n");
  }
  machine_reset();
}
