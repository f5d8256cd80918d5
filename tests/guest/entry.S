/* The test guests' kernel: from the PVH entry (32-bit, paging off) into long mode with an
 * identity map of the first 4 GiB (RAM and the PCI hole, user-accessible), then down to CPL3 with
 * port I/O allowed, where it calls guest_main(start_info) in C. On hosts whose KVM emulates kernel
 * mode slowly (PVM) only these few hundred instructions run at CPL0; the rest runs in user mode at
 * full speed. Exceptions (vectors 0-31) go through interrupt gates to CPL0 stubs here and to
 * exception_report (exception.c), which prints the vector, error code, RIP and CR2 on the serial
 * port and resets the machine. Interrupts stay off and have no gates. */
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
        /* The IDT: each gate's selector and type are assembled in, but a relocation cannot split
         * a stub's address into the gate's two offset fields, so this loop does (32 rounds of 8
         * instructions). Addresses are below 4 GiB: offset 63:32 stays 0. */
        mov $exception_stub_table, %esi
        mov $idt, %edi
1:      mov (%rsi), %eax
        mov %ax, (%rdi)                         /* offset 15:0 */
        shr $16, %eax
        mov %ax, 6(%rdi)                        /* offset 31:16 */
        add $4, %esi
        add $16, %edi
        cmp $idt_end, %edi
        jne 1b
        lidt idt_descriptor
        /* iretq to CPL3: SS, RSP, RFLAGS (IOPL=3), CS, RIP. */
        pushq $0x1b
        pushq $user_stack_top
        pushq $0x3002
        pushq $0x23
        pushq $enter_c
        iretq

/* --- Exceptions, at CPL0 ------------------------------------------------------------------- */
/* One stub per vector. The CPU pushes an error code for some vectors only; the others push a 0
 * in its place, so exception_common sees one frame layout: vector, error code, then the CPU's
 * RIP, CS, RFLAGS, RSP, SS. */
        .macro exception_stub vector
exception_stub_\vector:
        .if \vector == 8 || (\vector >= 10 && \vector <= 14) || \vector == 17 || \vector == 21 || \vector == 29 || \vector == 30
        .else
        pushq $0
        .endif
        pushq $\vector
        jmp exception_common
        .endm

        .irp vector, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        exception_stub \vector
        .endr

/* On the TSS's RSP0 stack when the fault came from CPL3, interrupts off (interrupt gates). CR2 is
 * read first, before anything could fault again. */
exception_common:
        mov %rsp, %rdi                          /* the frame */
        mov %cr2, %rsi
        and $-16, %rsp                          /* the C ABI's alignment at a call */
        call exception_report                   /* reports and resets: does not return */
2:      jmp 2b

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

exception_stub_table:
        .irp vector, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        .long exception_stub_\vector
        .endr

        /* 64-bit interrupt gates: offset 15:0, kernel code selector, present DPL 0 interrupt
         * gate (IF cleared on entry), offset 31:16, offset 63:32, reserved. */
        .balign 16
idt:
        .rept 32
        .word 0, 0x08, 0x8e00, 0
        .long 0, 0
        .endr
idt_end:
idt_descriptor:
        .word idt_end - idt - 1
        .quad idt

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
