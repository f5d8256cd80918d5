/* The smallest test guest: a PVH entry point (32-bit protected mode, paging off) that writes a
 * line to the 8250 serial port at 0x3f8 and resets the machine through the keyboard controller.
 * Both ringlane-vmm and QEMU boot it; it is the first rung of tests/guest/. */
#include "pvh_note.h"

        .text
        .code32
        .globl pvh_start
pvh_start:
        cld
        mov $message, %esi
        mov $0x3f8, %dx
1:      lodsb
        test %al, %al
        jz 2f
        out %al, %dx
        jmp 1b
2:      mov $0xfe, %al                  /* i8042 "pulse reset line" */
        out %al, $0x64
3:      hlt
        jmp 3b

        .section .rodata
message:
        .asciz "ringlane-guest: hello from PVH entry\n"
