#include "console.h"

#include <stdarg.h>

#include "runtime.h"

#define COM1 0x3f8

void console_write(const char* s, uint64_t len) {
  for (uint64_t i = 0; i < len; ++i) outb(COM1, (uint8_t)s[i]);
}

static void put_unsigned(uint64_t v, unsigned base, int width) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = "0123456789abcdef"[v % base];
    v /= base;
  } while (v != 0);
  while (n < width && n < (int)sizeof(digits)) digits[n++] = '0';
  while (n > 0) console_write(&digits[--n], 1);
}

void print(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  for (const char* p = fmt; *p != 0; ++p) {
    if (*p != '%') {
      console_write(p, 1);
      continue;
    }
    ++p;
    int width = 0;
    while (*p >= '0' && *p <= '9') width = width * 10 + (*p++ - '0');
    int is_long = 0;
    while (*p == 'l') {
      is_long = 1;
      ++p;
    }
    switch (*p) {
      case 's': {
        const char* s = va_arg(ap, const char*);
        console_write(s, strlen(s));
        break;
      }
      case 'c': {
        char c = (char)va_arg(ap, int);
        console_write(&c, 1);
        break;
      }
      case 'd': {
        int64_t v = is_long ? va_arg(ap, int64_t) : va_arg(ap, int);
        if (v < 0) {
          console_write("-", 1);
          v = -v;
        }
        put_unsigned((uint64_t)v, 10, width);
        break;
      }
      case 'u':
      case 'x': {
        uint64_t v = is_long ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
        put_unsigned(v, *p == 'u' ? 10 : 16, width);
        break;
      }
      case 0:
        va_end(ap);
        return;
      default:
        console_write(p, 1);
    }
  }
  va_end(ap);
}
