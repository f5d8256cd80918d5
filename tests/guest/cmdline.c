#include "cmdline.h"

#include "runtime.h"

static const char* cmdline = "";

void cmdline_init(uint64_t start_info) {
  /* hvm_start_info: magic, version, flags, nr_modules, modlist_paddr, then cmdline_paddr. */
  uint64_t paddr = *(const uint64_t*)(start_info + 24);
  if (start_info != 0 && paddr != 0) cmdline = (const char*)paddr;
}

/* The value after "key=" in the command line, ending at a space or the end; length in *len. */
static const char* find(const char* key, uint64_t* len) {
  uint64_t klen = strlen(key);
  for (const char* p = cmdline; *p != 0;) {
    while (*p == ' ') ++p;
    const char* word = p;
    while (*p != 0 && *p != ' ') ++p;
    if ((uint64_t)(p - word) > klen && memcmp(word, key, klen) == 0 && word[klen] == '=') {
      *len = (uint64_t)(p - word) - klen - 1;
      return word + klen + 1;
    }
  }
  return 0;
}

uint64_t cmdline_number(const char* key, uint64_t fallback) {
  uint64_t len = 0;
  const char* v = find(key, &len);
  if (v == 0 || len == 0) return fallback;
  uint64_t base = 10;
  if (len > 2 && v[0] == '0' && v[1] == 'x') {
    base = 16;
    v += 2;
    len -= 2;
  }
  uint64_t n = 0;
  for (uint64_t i = 0; i < len; ++i) {
    char c = v[i];
    uint64_t d;
    if (c >= '0' && c <= '9') {
      d = (uint64_t)(c - '0');
    } else if (base == 16 && c >= 'a' && c <= 'f') {
      d = (uint64_t)(c - 'a' + 10);
    } else {
      return fallback;
    }
    n = n * base + d;
  }
  return n;
}

int cmdline_is(const char* key, const char* value, int fallback) {
  uint64_t len = 0;
  const char* v = find(key, &len);
  if (v == 0) return fallback;
  return len == strlen(value) && memcmp(v, value, len) == 0;
}
