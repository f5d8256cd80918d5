/* The console: the 16550 UART at 0x3f8, output only, and a small printf (%s %c %d %u %x with an
 * optional l, and a zero-padded width for %x and %u). */
#pragma once

#include <stdint.h>

void console_write(const char* s, uint64_t len);
__attribute__((format(printf, 1, 2))) void print(const char* fmt, ...);
