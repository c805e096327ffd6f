/*
 * Xen system time, timers, and the scheduler hypercalls that wait.
 *
 * System time (ns since boot) = time.system_time + the TSC ticks since
 * time.tsc_timestamp scaled by tsc_to_system_mul / tsc_shift. Xen updates
 * the record under a version counter that is odd while the update runs.
 */
#include "rt.h"
#include "hypercall.h"

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

uint64_t xen_system_time(void)
{
    const volatile struct vcpu_time_info *t = &HYPERVISOR_shared_info->vcpu_info[0].time;
    uint32_t version, mul;
    uint64_t tsc_stamp, system_time, tsc;
    int8_t shift;

    do {
        version = t->version;
        /* version before the fields (load->load: in order on x86) */
        rmb();
        tsc_stamp = t->tsc_timestamp;
        system_time = t->system_time;
        mul = t->tsc_to_system_mul;
        shift = t->tsc_shift;
        tsc = rdtsc();
        /* the fields before the re-check of version */
        rmb();
    } while ((version & 1) || version != t->version);

    uint64_t delta = tsc > tsc_stamp ? tsc - tsc_stamp : 0;
    if (shift < 0)
        delta >>= -shift;
    else
        delta <<= shift;
    return system_time + (uint64_t)(((unsigned __int128)delta * mul) >> 32);
}

long timer_stop_periodic(void)
{
    return HYPERVISOR_vcpu_op(VCPUOP_stop_periodic_timer, 0, NULL);
}

long timer_set_singleshot(uint64_t deadline_ns)
{
    struct vcpu_set_singleshot_timer op = { .timeout_abs_ns = deadline_ns, .flags = 0 };
    return HYPERVISOR_vcpu_op(VCPUOP_set_singleshot_timer, 0, &op);
}

void sched_yield(void)
{
    HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
}

long sched_poll_port(evtchn_port_t port, uint64_t deadline_ns)
{
    evtchn_port_t ports[1] = { port };
    struct sched_poll op = { .ports = ports, .nr_ports = 1, .timeout = deadline_ns };
    return HYPERVISOR_sched_op(SCHEDOP_poll, &op);
}

void sched_block(void)
{
    /* Xen clears evtchn_upcall_mask and sleeps unless an event is pending;
     * the upcall is delivered on the way back out. */
    HYPERVISOR_sched_op(SCHEDOP_block, NULL);
    /* Normally a no-op (already enabled, nothing pending). */
    events_enable();
}
