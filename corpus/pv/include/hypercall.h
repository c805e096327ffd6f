/*
 * Hypercall wrappers for 64-bit PV: `call hypercall_page + 32*nr`, arguments
 * in rdi, rsi, rdx, r10, r8, result in rax (a negative Xen errno on failure).
 *
 * Xen writes the stubs into hypercall_page at domain build time; each one
 * saves rcx/r11 around its `syscall`, so only rax and the argument registers
 * are clobbered (debug Xen builds poison unused argument registers, hence
 * all five are in/out operands in every wrapper).
 *
 * __HYPERVISOR_iret is not called but jumped to; see entry.S.
 */
#ifndef XENRR_HYPERCALL_H
#define XENRR_HYPERCALL_H

#include "xen-abi.h"

extern char hypercall_page[4096];

/*
 * `nr` must be a compile-time constant: it becomes the call's displacement.
 * The "+r" on %rsp tells the compiler the asm makes a call, so a function
 * whose only call is a hypercall still sets up its frame (with
 * -fno-omit-frame-pointer) and stack walks see its caller.
 */
#define _hypercall(nr, a1, a2, a3, a4, a5) ({                                  \
    register unsigned long _sp __asm__("rsp");                                 \
    register unsigned long _r1 __asm__("rdi") = (unsigned long)(a1);           \
    register unsigned long _r2 __asm__("rsi") = (unsigned long)(a2);           \
    register unsigned long _r3 __asm__("rdx") = (unsigned long)(a3);           \
    register unsigned long _r4 __asm__("r10") = (unsigned long)(a4);           \
    register unsigned long _r5 __asm__("r8") = (unsigned long)(a5);            \
    long _res;                                                                 \
    __asm__ volatile("call hypercall_page + %c[off]"                          \
                     : "=a"(_res), "+r"(_r1), "+r"(_r2), "+r"(_r3), "+r"(_r4), \
                       "+r"(_r5), "+r"(_sp)                                    \
                     : [off] "i"((nr) * 32)                                    \
                     : "memory");                                              \
    _res;                                                                      \
})

#define hypercall1(nr, a1) _hypercall(nr, a1, 0, 0, 0, 0)
#define hypercall2(nr, a1, a2) _hypercall(nr, a1, a2, 0, 0, 0)
#define hypercall3(nr, a1, a2, a3) _hypercall(nr, a1, a2, a3, 0, 0)
#define hypercall4(nr, a1, a2, a3, a4) _hypercall(nr, a1, a2, a3, a4, 0)

static inline long HYPERVISOR_set_trap_table(const struct trap_info *table)
{
    return hypercall1(__HYPERVISOR_set_trap_table, table);
}

static inline long HYPERVISOR_update_va_mapping(unsigned long va, uint64_t pte, unsigned long flags)
{
    return hypercall3(__HYPERVISOR_update_va_mapping, va, pte, flags);
}

static inline long HYPERVISOR_xen_version(int cmd, void *arg)
{
    return hypercall2(__HYPERVISOR_xen_version, cmd, arg);
}

/* Xen's own console (its log), which Linux's earlyprintk=xen and panic paths use. */
static inline long HYPERVISOR_console_io(int cmd, unsigned int count, const char *buf)
{
    return hypercall3(__HYPERVISOR_console_io, cmd, count, buf);
}

static inline long HYPERVISOR_grant_table_op(unsigned int cmd, void *args, unsigned int count)
{
    return hypercall3(__HYPERVISOR_grant_table_op, cmd, args, count);
}

static inline long HYPERVISOR_vcpu_op(int cmd, unsigned int vcpu, void *arg)
{
    return hypercall3(__HYPERVISOR_vcpu_op, cmd, vcpu, arg);
}

static inline long HYPERVISOR_sched_op(int cmd, void *arg)
{
    return hypercall2(__HYPERVISOR_sched_op, cmd, arg);
}

static inline long HYPERVISOR_callback_op(int cmd, const void *arg)
{
    return hypercall2(__HYPERVISOR_callback_op, cmd, arg);
}

static inline long HYPERVISOR_event_channel_op(int cmd, void *arg)
{
    return hypercall2(__HYPERVISOR_event_channel_op, cmd, arg);
}

#endif /* XENRR_HYPERCALL_H */
