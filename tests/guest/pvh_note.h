/* The ELF note that makes a test guest a PVH kernel: XEN_ELFNOTE_PHYS32_ENTRY names pvh_start,
 * the 32-bit protected-mode entry. Included by every guest's assembly file. */
#define XEN_ELFNOTE_PHYS32_ENTRY 18

        .section .note.Xen, "a"
        .balign 4
        .long 4                         /* name size: "Xen\0" */
        .long 4                         /* descriptor size */
        .long XEN_ELFNOTE_PHYS32_ENTRY
        .asciz "Xen"
        .balign 4
        .long pvh_start
        .balign 4
