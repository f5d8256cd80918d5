/* The test guests' kernel: from the PVH entry (32-bit, paging off) into long mode with an
 * identity map of the first 4 GiB (RAM and the PCI hole, user-accessible), then down to CPL3 with
 * port I/O allowed, where it calls guest_main(start_info) in C. On hosts whose KVM emulates kernel
 * mode slowly (PVM) only these few hundred instructions run at CPL0; the rest runs in user mode at
 * full speed. Nothing handles exceptions: a fault ends the machine with a triple fault. */
#include "pvh_note.h"

        .text
        .code32
        .globl pvh_start
pvh_start:
        cld
        mov %ebx, start_info            /* hvm_start_info, for guest_main */
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
        pushq $enter_c
        iretq

/* --- CPL3 from here on --------------------------------------------------------------------- */
enter_c:
        mov start_info, %edi
        call guest_main
        mov $0xfe, %al                  /* guest_main returned: reset through the i8042 */
        out %al, $0x64
3:      jmp 3b

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

        .balign 4
start_info:
        .long 0

        /* The page tables are built by the assembler, not at run time: every instruction at CPL0
         * is expensive under PVM. 2048 2 MiB pages map 4 GiB: present, writable, user, large. */
        .balign 4096
pml4:   .quad pdpt + 7
        .fill 511, 8, 0
pdpt:   .quad pd + 7, pd + 0x1007, pd + 0x2007, pd + 0x3007
        .fill 508, 8, 0
pd:
        .set page, 0
        .rept 2048
        .quad page + 0x87
        .set page, page + 0x200000
        .endr

        .bss
        .balign 16
tss:    .skip 104
tss_iomap:
        .skip 8192                      /* all zero: every port allowed */
tss_iomap_end:
        .skip 1                         /* the 0xff byte that ends the bitmap */
tss_end:
        .balign 4096
        .skip 4096
kernel_stack_top:
        .skip 64 * 1024
user_stack_top:
