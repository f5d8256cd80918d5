/* The kernel command line from hvm_start_info, read as space-separated key=value words. */
#pragma once

#include <stdint.h>

/* Points the parser at the command line the loader passed (hvm_start_info.cmdline_paddr). */
void cmdline_init(uint64_t start_info);
/* The value of `key` as a number (decimal or 0x hex), or `fallback` when absent or malformed. */
uint64_t cmdline_number(const char* key, uint64_t fallback);
/* True when `key` has the value `value`; `fallback` when the key is absent. */
int cmdline_is(const char* key, const char* value, int fallback);
