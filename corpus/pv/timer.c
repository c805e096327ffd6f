/*
 * timer: VIRQ_TIMER with one-shot timers. Stops Xen's default 100 Hz
 * periodic timer, then NR_TICKS times arms a one-shot timer TICK_NS ahead of
 * the current system time, blocks until its VIRQ arrives, and checks the
 * time it woke at is not before the deadline.
 *
 * Console lines to check: "timer: tick 5/5 ..." and
 * "timer: 5 ticks, 0 early, 0 spurious".
 */
#include "rt.h"

#define NR_TICKS 5
#define TICK_NS 10000000UL   /* 10 ms */

static volatile unsigned int ticks;

static void on_timer(evtchn_port_t port, void *data)
{
    (void)port, (void)data;
    ticks++;
}

void kmain(start_info_t *si)
{
    (void)si;
    rt_init();

    /* Real Xen always succeeds here; a failure is reported but not fatal,
     * since a periodic timer left running shows up as spurious ticks. */
    long rc = timer_stop_periodic();
    if (rc)
        printk("timer: VCPUOP_stop_periodic_timer failed: %ld\n", rc);
    long port = evtchn_bind_virq(VIRQ_TIMER);
    if (port < 0)
        panic("bind_virq(VIRQ_TIMER): %ld", port);
    evtchn_bind_handler((evtchn_port_t)port, on_timer, NULL);
    events_enable();

    uint64_t start = xen_system_time();
    printk("timer: VIRQ_TIMER on port %ld, start at %lu ns\n", port, start);

    unsigned int early = 0, spurious = 0;
    for (unsigned int i = 1; i <= NR_TICKS; i++) {
        uint64_t deadline = xen_system_time() + TICK_NS;
        unsigned int before = ticks;
        rc = timer_set_singleshot(deadline);
        if (rc)
            panic("VCPUOP_set_singleshot_timer: %ld", rc);
        WAIT_UNTIL(ticks != before);
        uint64_t now = xen_system_time();
        if (ticks != before + 1)
            spurious += ticks - before - 1;
        if (now < deadline)
            early++;
        printk("timer: tick %u/%u at %lu ns (deadline %lu, %s by %lu ns)\n", i, NR_TICKS, now,
               deadline, now < deadline ? "EARLY" : "late", now < deadline ? deadline - now : now - deadline);
    }
    printk("timer: %u ticks, %u early, %u spurious, %lu ns elapsed\n", NR_TICKS, early, spurious,
           xen_system_time() - start);
    xen_shutdown(SHUTDOWN_poweroff);
}
