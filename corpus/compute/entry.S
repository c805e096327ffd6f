/*
 * Flat-harness entry point for the xenrr compute guests.
 *
 * The harness loads the PT_LOAD segments at their physical addresses (paging
 * off, virtual = physical), zero-fills .bss, and starts at _start. The guest
 * returns from guest_main with its exit code in %eax and halts.
 */

/* Names this object in the symbol table (else the assembler's temporary file: builds would differ). */
	.file "entry.S"
    .section .text.entry, "ax", @progbits
    .globl _start
    .type _start, @function
_start:
    lea __stack_top(%rip), %rsp
    xor %ebp, %ebp
    call guest_main
1:  hlt
    jmp 1b
    .size _start, . - _start

/* An identifying ELF note (name "xenrr", type 1, desc "flat"), so that note
 * parsing can be exercised on the corpus before Xen guests exist. */
    .section .note.xenrr, "a", @note
    .p2align 2
    .long 2f - 1f           /* namesz */
    .long 4f - 3f           /* descsz */
    .long 1                 /* type */
1:  .asciz "xenrr"
2:  .p2align 2
3:  .ascii "flat"
4:  .p2align 2

    .section .note.GNU-stack, "", @progbits
