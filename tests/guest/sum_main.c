/* pvh_user: the second rung. Proves long mode and CPL3 work by summing 0 .. 10^7-1 in user mode
 * (full speed even where KVM emulates kernel mode) and printing the sum. */
#include "console.h"
#include "runtime.h"

void guest_main(uint64_t start_info) {
  (void)start_info;
  print("ringlane-guest: long mode, CPL3\n");
  uint64_t sum = 0;
  for (uint64_t i = 0; i < 10000000; ++i) {
    sum += i;
    __asm__ volatile("" : "+r"(sum)); /* keep the loop a loop: the point is to run it */
  }
  print("ringlane-guest: sum %016lx\n", sum);
}
