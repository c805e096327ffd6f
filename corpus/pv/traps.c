/*
 * Exception handling: the trap table and the C side of entry.S's stubs.
 *
 * Every vector 0-19 is registered as an "interrupt gate" (events masked on
 * entry; the iret restores the previous mask) with DPL 0, except #BP and #OF
 * which user code may raise (DPL 3), as on native x86.
 */
#include "rt.h"
#include "hypercall.h"

#define NR_TRAP_VECTORS 20

extern const uint64_t xen_trap_stubs[NR_TRAP_VECTORS];   /* entry.S */

static trap_handler_t handlers[NR_TRAP_VECTORS];

static const char *const names[NR_TRAP_VECTORS] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#CSO",
    "#TS", "#NP", "#SS", "#GP", "#PF", "#SPV", "#MF", "#AC", "#MC", "#XM",
};

const char *trap_name(unsigned int vector)
{
    return vector < NR_TRAP_VECTORS ? names[vector] : "?";
}

void traps_init(void)
{
    struct trap_info table[NR_TRAP_VECTORS + 1];

    for (unsigned int v = 0; v < NR_TRAP_VECTORS; v++) {
        table[v] = (struct trap_info){
            .vector = v,
            .flags = 0,
            .cs = FLAT_KERNEL_CS,
            .address = xen_trap_stubs[v],
        };
        TI_SET_DPL(&table[v], (v == 3 || v == 4) ? 3 : 0);
        TI_SET_IF(&table[v], 1);
    }
    table[NR_TRAP_VECTORS] = (struct trap_info){ 0 };   /* address 0 ends the list */

    long rc = HYPERVISOR_set_trap_table(table);
    if (rc)
        panic("set_trap_table failed: %ld", rc);
}

void trap_set_handler(unsigned int vector, trap_handler_t handler)
{
    if (vector < NR_TRAP_VECTORS)
        handlers[vector] = handler;
}

/* probe_read_faults(): the access instruction and where to resume after it. */
static volatile uint64_t probe_rip, probe_resume;
static volatile int probe_faulted;

int probe_read_faults(const volatile void *addr)
{
    probe_faulted = 0;
    __asm__ volatile("lea 1f(%%rip), %%rax\n\t"
                     "mov %%rax, %[rip]\n\t"
                     "lea 2f(%%rip), %%rax\n\t"
                     "mov %%rax, %[resume]\n\t"
                     "1: movb (%[addr]), %%al\n"
                     "2:\n"
                     : [rip] "=m"(probe_rip), [resume] "=m"(probe_resume)
                     : [addr] "r"(addr)
                     : "rax", "memory");
    probe_rip = 0;
    return probe_faulted;
}

/* Called by entry.S for vectors 0-19. */
void do_trap(struct cpu_regs *regs)
{
    unsigned int v = (unsigned int)regs->vector;

    if (v == 14 && probe_rip && regs->rip == probe_rip) {
        probe_faulted = 1;
        regs->rip = probe_resume;
        return;
    }
    if (v < NR_TRAP_VECTORS && handlers[v]) {
        handlers[v](regs);
        return;
    }
    uint64_t cr2 = HYPERVISOR_shared_info ? HYPERVISOR_shared_info->vcpu_info[0].arch.cr2 : 0;
    printk("unhandled exception %u (%s) err=0x%lx rip=0x%lx cr2=0x%lx rsp=0x%lx\n", v,
           trap_name(v), regs->error_code, regs->rip, cr2, regs->rsp);
    panic("unhandled %s", trap_name(v));
}
