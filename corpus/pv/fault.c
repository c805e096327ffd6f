/*
 * fault: a page fault handled and recovered from.
 *
 * Unmaps VA 0 (update_va_mapping(0, 0, UVMF_INVLPG), as XTF does), installs
 * a #PF handler, then reads NULL and writes to address 8. Each access is a
 * labelled instruction; the handler records cr2 (vcpu_info.arch.cr2), the
 * error code, the faulting rip and the event mask, and resumes after the
 * access by rewriting rip in the frame before the iret hypercall.
 *
 * Also checks what the bounce frame promises: CS RPL 0 for a fault in guest
 * kernel mode, events masked inside the handler (interrupt-gate trap entry)
 * with the pre-fault mask saved in CS bits 32-39, that mask restored by the
 * iret, and rcx/r11 (which the frame carries) unchanged across the fault.
 *
 * Console lines to check: "fault: read NULL: cr2=0x0 err=0x0 ok",
 * "fault: write 0x8: cr2=0x8 err=0x2 ok", "fault: recovered".
 */
#include "rt.h"
#include "hypercall.h"

#define RCX_SENTINEL 0x1111222233334444UL
#define R11_SENTINEL 0x5555666677778888UL

static volatile uint64_t resume_rip, expect_rip;
static volatile uint64_t seen_cr2, seen_err, seen_rip, seen_cs, seen_mask_in_handler;
static volatile unsigned int faults;

static void on_page_fault(struct cpu_regs *regs)
{
    faults++;
    seen_cr2 = HYPERVISOR_shared_info->vcpu_info[0].arch.cr2;
    seen_err = regs->error_code;
    seen_rip = regs->rip;
    seen_cs = regs->cs;
    seen_mask_in_handler = HYPERVISOR_shared_info->vcpu_info[0].evtchn_upcall_mask;
    if (!resume_rip)
        panic("unexpected #PF at rip 0x%lx cr2 0x%lx", regs->rip, seen_cr2);
    regs->rip = resume_rip;   /* skip the faulting access */
    resume_rip = 0;
}

/* One faulting access at `addr`; returns rcx and r11 as seen right after. */
static void probe(int write, uint64_t addr, uint64_t *rcx_after, uint64_t *r11_after)
{
    register uint64_t r11 __asm__("r11");
    uint64_t rcx;

#define PROBE_PROLOGUE                          \
    "lea 2f(%%rip), %%rax\n\t"                  \
    "mov %%rax, %[resume]\n\t"                  \
    "lea 1f(%%rip), %%rax\n\t"                  \
    "mov %%rax, %[expect]\n\t"                  \
    "movabs %[rcxv], %%rcx\n\t"                 \
    "movabs %[r11v], %%r11\n\t"
#define PROBE_OPERANDS                                                              \
    : "=&c"(rcx), "=&r"(r11), [resume] "=m"(resume_rip), [expect] "=m"(expect_rip) \
    : [addr] "r"(addr), [rcxv] "i"(RCX_SENTINEL), [r11v] "i"(R11_SENTINEL)         \
    : "rax", "memory"

    if (write)
        __asm__ volatile(PROBE_PROLOGUE "1: movl $0x12345678, (%[addr])\n2:\n" PROBE_OPERANDS);
    else
        __asm__ volatile(PROBE_PROLOGUE "1: movl (%[addr]), %%eax\n2:\n" PROBE_OPERANDS);
    *rcx_after = rcx;
    *r11_after = r11;
}

/* Returns 1 if the fault looked as expected, printing one line either way. */
static int check(const char *what, int write, uint64_t addr, uint64_t want_err)
{
    uint64_t rcx, r11;
    unsigned int before = faults;

    probe(write, addr, &rcx, &r11);
    uint8_t mask_after = HYPERVISOR_shared_info->vcpu_info[0].evtchn_upcall_mask;
    int ok = faults == before + 1 && seen_cr2 == addr && seen_err == want_err &&
             seen_rip == expect_rip && (seen_cs & 3) == 0 && ((seen_cs >> 32) & 0xff) == 0 &&
             seen_mask_in_handler == 1 && mask_after == 0 && rcx == RCX_SENTINEL &&
             r11 == R11_SENTINEL;
    printk("fault: %s: cr2=0x%lx err=0x%lx %s\n", what, seen_cr2, seen_err, ok ? "ok" : "WRONG");
    if (!ok)
        printk("fault:   faults %u (want %u), rip 0x%lx (want 0x%lx), cs 0x%lx, mask in handler %lu "
               "after %u, rcx 0x%lx r11 0x%lx\n",
               faults - before, 1, seen_rip, expect_rip, seen_cs, seen_mask_in_handler, mask_after,
               rcx, r11);
    return ok;
}

void kmain(start_info_t *si)
{
    (void)si;
    rt_init();

    long rc = HYPERVISOR_update_va_mapping(0, 0, UVMF_INVLPG);
    if (rc)
        panic("update_va_mapping(0, 0) failed: %ld", rc);
    trap_set_handler(14, on_page_fault);
    events_enable();   /* so the handler can see the trap gate mask them */
    printk("fault: VA 0 unmapped, #PF handler installed\n");

    int ok = check("read NULL", 0, 0, 0);
    ok &= check("write 0x8", 1, 8, 2);   /* error code W */

    if (!ok)
        panic("fault: unexpected fault state");
    printk("fault: recovered (%u page faults; rcx/r11 and the event mask preserved)\n", faults);
    xen_shutdown(SHUTDOWN_poweroff);
}
