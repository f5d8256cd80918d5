/* Test guest, second rung: from the PVH entry (32-bit, paging off) into long mode with an
 * identity map of the first 1 GiB, then down to CPL3 with port I/O allowed, where it runs a loop and
 * reports on the serial port. On hosts whose KVM emulates kernel mode slowly (PVM) only the few
 * hundred set-up instructions run at CPL0; the work runs in user mode at full speed. */
#include "pvh_note.h"
#define COM1 0x3f8
#define LOOP_COUNT 10000000

        .text
        .code32
        .globl pvh_start
pvh_start:
        cld
        /* 512 2 MiB pages: present, writable, user, large. */
        mov $pd, %edi
        mov $0x87, %eax
        xor %ecx, %ecx
1:      mov %eax, (%edi,%ecx,8)
        movl $0, 4(%edi,%ecx,8)
        add $0x200000, %eax
        inc %ecx
        cmp $512, %ecx
        jne 1b
        mov $pdpt, %eax
        or $7, %eax
        mov %eax, pml4
        mov $pd, %eax
        or $7, %eax
        mov %eax, pdpt
        mov %cr4, %eax
        or $0x20, %eax                  /* PAE */
        mov %eax, %cr4
        mov $pml4, %eax
        mov %eax, %cr3
        mov $0xc0000080, %ecx           /* EFER */
        rdmsr
        or $0x100, %eax                 /* LME */
        wrmsr
        mov %cr0, %eax
        or $0x80000001, %eax            /* PG | PE */
        mov %eax, %cr0
        lgdt gdt_descriptor
        ljmp $0x08, $long_mode

        .code64
long_mode:
        mov $0x10, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %ss
        mov $kernel_stack_top, %rsp
        /* A 64-bit TSS whose I/O bitmap allows every port: user-mode port I/O then works
         * whether or not the hypervisor honours IOPL at CPL3 (PVM, this project's development
         * host, does not). */
        mov $tss, %rax
        mov $gdt_tss, %rdi
        movw $(tss_end - tss - 1), (%rdi)       /* limit 15:0 */
        mov %ax, 2(%rdi)                        /* base 15:0 */
        shr $16, %rax
        mov %al, 4(%rdi)                        /* base 23:16 */
        movb $0x89, 5(%rdi)                     /* present, available 64-bit TSS */
        movb $0, 6(%rdi)
        mov %ah, 7(%rdi)                        /* base 31:24 */
        shr $16, %rax
        mov %eax, 8(%rdi)                       /* base 63:32 */
        movl $0, 12(%rdi)
        movq $kernel_stack_top, tss+4           /* RSP0 */
        movw $(tss_iomap - tss), tss+102        /* I/O map base */
        movb $0xff, tss_iomap_end
        mov $0x28, %ax
        ltr %ax
        /* iretq to CPL3: SS, RSP, RFLAGS (IOPL=3), CS, RIP. */
        pushq $0x1b
        pushq $user_stack_top
        pushq $0x3002
        pushq $0x23
        pushq $user_main
        iretq

/* --- CPL3 from here on --------------------------------------------------------------------- */
user_main:
        mov $msg_user, %rsi
        call puts
        xor %rax, %rax                  /* sum of 0 .. LOOP_COUNT-1 */
        xor %rcx, %rcx
2:      add %rcx, %rax
        inc %rcx
        cmp $LOOP_COUNT, %rcx
        jne 2b
        mov %rax, %rbx
        mov $msg_sum, %rsi
        call puts
        mov %rbx, %rax
        call put_hex
        mov $'\n', %al
        call putc
        mov $0xfe, %al                  /* reset through the i8042 */
        out %al, $0x64
3:      jmp 3b

putc:   mov $COM1, %dx
        out %al, %dx
        ret

puts:   lodsb
        test %al, %al
        jz 4f
        call putc
        jmp puts
4:      ret

put_hex:                                /* %rax as 16 hex digits */
        mov %rax, %rdi
        mov $16, %ecx
5:      rol $4, %rdi
        mov %edi, %eax
        and $0xf, %eax
        mov hex_digits(%rax), %al
        push %rcx
        call putc
        pop %rcx
        dec %ecx
        jnz 5b
        ret

        .data
        .balign 8
gdt:    .quad 0
        .quad 0x00af9a000000ffff        /* 0x08 kernel code, 64-bit */
        .quad 0x00cf92000000ffff        /* 0x10 kernel data */
        .quad 0x00cff2000000ffff        /* 0x18 user data (DPL 3) */
        .quad 0x00affa000000ffff        /* 0x20 user code, 64-bit (DPL 3) */
gdt_tss:
        .quad 0, 0                      /* 0x28 TSS, filled in at run time */
gdt_end:
gdt_descriptor:
        .word gdt_end - gdt - 1
        .long gdt

        .section .rodata
hex_digits:
        .ascii "0123456789abcdef"
msg_user:
        .asciz "ringlane-guest: long mode, CPL3\n"
msg_sum:
        .asciz "ringlane-guest: sum "

        .bss
        .balign 16
tss:    .skip 104
tss_iomap:
        .skip 8192                      /* all zero: every port allowed */
tss_iomap_end:
        .skip 1                         /* the 0xff byte that ends the bitmap */
tss_end:
        .balign 4096
pml4:   .skip 4096
pdpt:   .skip 4096
pd:     .skip 4096
        .skip 4096
kernel_stack_top:
        .skip 4096
user_stack_top:
