/*
 * Exception and event-upcall entry points.
 *
 * Xen delivers both by "bouncing" (xen-pv64-facts.md §7): on the current
 * stack (we never leave guest kernel mode) it pushes
 *
 *     rcx, r11, [error code], rip, cs|mask<<32, rflags, rsp, ss
 *
 * (rcx at the lowest address) and jumps to the registered address. Each stub
 * reloads the interrupted rcx/r11, pushes a zero where the CPU pushes no
 * error code plus the vector, and joins a common path that saves the other
 * GPRs into a struct cpu_regs (rt.h) and calls C with a pointer to it.
 *
 * Return is by the iret hypercall: the stack must hold
 * {flags, rip, cs, rflags, rsp, ss}; the hypercall stub itself pushes rcx,
 * r11 and rax, so those are restored from our registers at the jump. flags 0
 * (not VGCF_in_syscall) makes Xen restore rcx/r11 too. Xen re-derives the
 * upcall mask from the saved rflags.IF, so returning re-enables events
 * exactly when they were enabled at the interruption.
 */

/* Names this object in the symbol table (else the assembler's temporary file: builds would differ). */
	.file "entry.S"
#include "xen-abi.h"

#define HYPERCALL_iret (hypercall_page + __HYPERVISOR_iret * 32)

/* Vectors for which the CPU (and so Xen's frame) carries an error code. */
#define HAS_ERRCODE(v) ((v) == 8 || (v) == 10 || (v) == 11 || (v) == 12 || \
                        (v) == 13 || (v) == 14 || (v) == 17)

    .text

/* Saves GPRs (struct cpu_regs order), calls \fn(regs) on a 16-byte aligned
 * stack, restores them and irets. Entered with the vector on top. */
.macro ENTRY_COMMON fn
    push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %rbp
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    cld
    mov %rsp, %rdi
    mov %rsp, %rbx          /* callee-saved: survives the C call */
    and $-16, %rsp
    call \fn
    mov %rbx, %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rbp
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rbx
    pop %rax
    add $16, %rsp           /* vector, error code */
    push $0                 /* iret flags: not VGCF_in_syscall */
    jmp HYPERCALL_iret
.endm

trap_common:
    ENTRY_COMMON do_trap
    .type trap_common, @function
    .size trap_common, . - trap_common

/* One stub per vector 0-19: xen_trap_<n>. */
.macro TRAP_STUB vec
    .globl xen_trap_\vec
    .type xen_trap_\vec, @function
xen_trap_\vec:
    pop %rcx
    pop %r11
    .if HAS_ERRCODE(\vec)
    .else
    push $0
    .endif
    push $\vec
    jmp trap_common
    .size xen_trap_\vec, . - xen_trap_\vec
.endm

    TRAP_STUB 0
    TRAP_STUB 1
    TRAP_STUB 2
    TRAP_STUB 3
    TRAP_STUB 4
    TRAP_STUB 5
    TRAP_STUB 6
    TRAP_STUB 7
    TRAP_STUB 8
    TRAP_STUB 9
    TRAP_STUB 10
    TRAP_STUB 11
    TRAP_STUB 12
    TRAP_STUB 13
    TRAP_STUB 14
    TRAP_STUB 15
    TRAP_STUB 16
    TRAP_STUB 17
    TRAP_STUB 18
    TRAP_STUB 19

/* Address table for traps.c, indexed by vector. */
    .section .rodata
    .p2align 3
    .globl xen_trap_stubs
xen_trap_stubs:
    .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19
    .quad xen_trap_\v
    .endr
    .size xen_trap_stubs, . - xen_trap_stubs
    .text

/*
 * CALLBACKTYPE_event entry. Xen has set evtchn_upcall_mask = 1, so no
 * second upcall nests; the iret above unmasks again (saved IF was 1).
 */
    .globl hypervisor_callback
    .type hypervisor_callback, @function
hypervisor_callback:
    pop %rcx
    pop %r11
    push $0
    push $0x100             /* EVENT_VECTOR (rt.h) */
    ENTRY_COMMON do_event_upcall
    .size hypervisor_callback, . - hypervisor_callback

    .section .note.GNU-stack, "", @progbits
