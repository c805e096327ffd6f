/*
 * coldhot: a guest whose run has a cold phase and a hot one, for the
 * recorder's seek-cost checkpoint rule (replay/checkpoint-cost.test.ts).
 *
 * Cold: COLD_FUNCS small functions, each alone in its own 4 KiB page, called
 * round-robin "cold=N" times each (default 2000): execution enters another
 * code frame at every call and return. Hot: one loop in one function,
 * "hot=N" iterations (default 4000000). Each phase ends with a console
 * line ("coldhot: cold done", "coldhot: hot done"), then the guest powers
 * off.
 */
#include "rt.h"

#define COLD_FUNCS 64

#define COLD(n)                                                                                    \
    __attribute__((noinline, aligned(4096))) static unsigned long cold_##n(unsigned long x)        \
    {                                                                                              \
        return (x ^ (x >> 7)) * (2 * (n) + 1) + (n);                                               \
    }
#define COLD8(a) COLD(a##0) COLD(a##1) COLD(a##2) COLD(a##3) COLD(a##4) COLD(a##5) COLD(a##6) COLD(a##7)
COLD8(1) COLD8(2) COLD8(3) COLD8(4) COLD8(5) COLD8(6) COLD8(7) COLD8(8)

#define REF8(a) cold_##a##0, cold_##a##1, cold_##a##2, cold_##a##3, cold_##a##4, cold_##a##5, cold_##a##6, cold_##a##7
static unsigned long (*const cold_funcs[COLD_FUNCS])(unsigned long) = {
    REF8(1), REF8(2), REF8(3), REF8(4), REF8(5), REF8(6), REF8(7), REF8(8),
};

__attribute__((noinline)) static unsigned long hot_loop(unsigned long n, unsigned long x)
{
    for (unsigned long i = 0; i < n; i++)
        x = x * 6364136223846793005UL + i;
    return x;
}

void kmain(start_info_t *si)
{
    (void)si;
    rt_init();
    unsigned long rounds = cmdline_uint("cold", 2000);
    unsigned long iters = cmdline_uint("hot", 4000000);

    unsigned long x = 1;
    for (unsigned long r = 0; r < rounds; r++)
        for (int f = 0; f < COLD_FUNCS; f++)
            x = cold_funcs[f](x);
    printk("coldhot: cold done (%lx)\n", x);
    x = hot_loop(iters, x);
    printk("coldhot: hot done (%lx)\n", x);
    xen_shutdown(SHUTDOWN_poweroff);
}
