/*
 * compute-main: the PV adapter for the compute guests (corpus/compute/<name>.c
 * + rt.c built with -DXENRR_PV), linked as build/corpus/pv/compute-<name>.elf.
 *
 * Runs guest_main() on a 64 KiB stack (as large as the flat harness gives it:
 * bignum keeps ~13 KiB of digits on the stack, close to head.S's 16 KiB boot
 * stack), flushes its output, and shuts down: poweroff when it returned 0,
 * crash otherwise. Command line "repeat=N" (default 1) runs it N times, until
 * one fails. On success the console holds exactly what the native
 * build prints (build/corpus/<name>.expected); only a failure adds a line.
 * Events stay disabled throughout: the guest needs none.
 */
#include "rt.h"

/* From the compute runtime (corpus/compute/rt.h, which cannot be included
 * beside ours: it renames the mem helpers that ours declares). */
int guest_main(void);
void rt_flush(void);

#define COMPUTE_STACK_SIZE (64 * 1024)

static char compute_stack[COMPUTE_STACK_SIZE] __attribute__((aligned(16)));

/*
 * Calls fn on the stack ending at top (16-byte aligned, so fn's frame is
 * ABI-aligned after the call pushes its return address) and returns its
 * result. %rbx (callee-saved, so fn preserves it) keeps our %rsp.
 */
static int call_on_stack(int (*fn)(void), void *top)
{
    int rc;
    __asm__ volatile("mov %%rsp, %%rbx\n\t"
                     "mov %[top], %%rsp\n\t"
                     "call *%[fn]\n\t"
                     "mov %%rbx, %%rsp"
                     : "=a"(rc)
                     : [fn] "r"(fn), [top] "r"(top)
                     : "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory", "cc");
    return rc;
}

void kmain(start_info_t *si)
{
    (void)si;
    rt_init();

    /* "repeat=N" runs the guest N times (a long compute-bound run for benches). */
    unsigned long repeat = cmdline_uint("repeat", 1);
    int rc = 0;
    for (unsigned long k = 0; k < repeat && rc == 0; k++) {
        rc = call_on_stack(guest_main, compute_stack + sizeof(compute_stack));
        rt_flush();
    }
    if (rc != 0) {
        printk("compute: guest_main returned %d\n", rc);
        xen_shutdown(SHUTDOWN_crash);
    }
    xen_shutdown(SHUTDOWN_poweroff);
}
