/*
 * Entry point and Xen ELF notes of every xenrr corpus PV kernel.
 *
 * Boot contract (xen-pv64-facts.md §1, §4): the domain builder loads us at
 * our link address (1 MiB, VA == PFN << 12, bss already zeroed), writes the
 * hypercall stubs into hypercall_page, and enters _start in guest kernel
 * mode with %rsi = VA of start_info and event delivery masked.
 */

/* Names this object in the symbol table (else the assembler's temporary file: builds would differ). */
	.file "head.S"
#include "xen-abi.h"

/* One Xen ELF note: name "Xen", 4-byte aligned. */
#define ELFNOTE(type, desctype, descdata)   \
    .pushsection .note.Xen, "a", @note;     \
    .p2align 2;                             \
    .long 2f - 1f;                          \
    .long 4f - 3f;                          \
    .long type;                             \
1:  .asciz "Xen";                           \
2:  .p2align 2;                             \
3:  desctype descdata;                      \
4:  .p2align 2;                             \
    .popsection

ELFNOTE(XEN_ELFNOTE_GUEST_OS, .asciz, "xenrr-corpus")
ELFNOTE(XEN_ELFNOTE_GUEST_VERSION, .asciz, "0")
ELFNOTE(XEN_ELFNOTE_XEN_VERSION, .asciz, "xen-3.0")
ELFNOTE(XEN_ELFNOTE_LOADER, .asciz, "generic")
ELFNOTE(XEN_ELFNOTE_HYPERCALL_PAGE, .quad, hypercall_page)
/* "!" = required: no writable page tables, so PTEs change only by hypercall. */
ELFNOTE(XEN_ELFNOTE_FEATURES, .asciz, "!writable_page_tables|pae_pgdir_above_4gb")
ELFNOTE(XEN_ELFNOTE_PAE_MODE, .asciz, "yes")

    .section .text.head, "ax", @progbits
    .globl _start
    .type _start, @function
_start:
    /* Keep start_info, and switch to our own stack (the builder's one-page
     * boot stack is not part of our image). */
    mov %rsi, xen_start_info(%rip)
    lea boot_stack_top(%rip), %rsp
    xor %ebp, %ebp
    mov %rsi, %rdi
    call kmain
    /* kmain must not return: treat it as a crash. */
    mov $SHUTDOWN_crash, %edi
    call xen_shutdown
    .size _start, . - _start

/*
 * Xen overwrites this page with 128 32-byte stubs at build time. Until then
 * it is all `ret` (0xc3), so a hypercall made before Xen filled it is a no-op
 * returning garbage in rax rather than a jump into zeros.
 */
    .section .data.page_aligned, "aw", @progbits
    .p2align 12
    .globl hypercall_page
    .type hypercall_page, @object
hypercall_page:
    .fill 4096, 1, 0xc3
    .size hypercall_page, 4096

    .section .bss.page_aligned, "aw", @nobits
    .p2align 12
boot_stack:
    .skip 4 * 4096
boot_stack_top:

    .section .note.GNU-stack, "", @progbits
