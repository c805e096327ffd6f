/**
 * public/sched.h: HYPERVISOR_sched_op(cmd, arg): yield, block, poll and
 * shutdown. All argument structs are written by the guest and only read by
 * Xen.
 */

/** Give up the CPU; arg NULL. */
export const SCHEDOP_yield = 0;
/**
 * Sleep until an event is pending; arg NULL. Called with events masked, it
 * unmasks and checks for pending events atomically before sleeping, so a
 * wakeup between the guest's check and the call is not lost.
 */
export const SCHEDOP_block = 1;
/**
 * Stop the whole domain; arg = sched_shutdown. For SHUTDOWN_suspend a PV
 * guest also passes its start_info MFN in %rdx; the call then returns 1 if
 * the suspend was cancelled and 0 when resumed in a new domain.
 */
export const SCHEDOP_shutdown = 2;
/** Wait until one of several ports is pending, or a timeout; arg = sched_poll. */
export const SCHEDOP_poll = 3;
/** Shut down another domain (privileged); arg = sched_remote_shutdown. */
export const SCHEDOP_remote_shutdown = 4;
/** Record the reason reported when the domain later shuts down; arg = sched_shutdown. */
export const SCHEDOP_shutdown_code = 5;
/** Create (id 0), poke or (timeout 0) destroy a watchdog; arg = sched_watchdog. */
export const SCHEDOP_watchdog = 6;
/** Hardware domain only: pin to a pCPU (pcpu < 0 undoes); arg = sched_pin_override. */
export const SCHEDOP_pin_override = 7;

export const sched_shutdown = { size: 4, reason: 0 /* u32: SHUTDOWN_* */ } as const;

/** timeout: absolute system time in ns, 0 = none. */
export const sched_poll = {
  size: 24,
  ports: 0, // guest handle to evtchn_port_t[nr_ports]
  nr_ports: 8, // u32
  timeout: 16, // u64
} as const;

export const sched_remote_shutdown = { size: 8, domain_id: 0, reason: 4 } as const;
export const sched_watchdog = { size: 8, id: 0, timeout: 4 /* seconds */ } as const;
export const sched_pin_override = { size: 4, pcpu: 0 } as const;

/** Shutdown reasons (sched_shutdown.reason). */
export const SHUTDOWN_poweroff = 0;
export const SHUTDOWN_reboot = 1;
export const SHUTDOWN_suspend = 2;
export const SHUTDOWN_crash = 3;
export const SHUTDOWN_watchdog = 4;
/** Reset Xen's state of the domain but keep its memory and vCPU contexts. */
export const SHUTDOWN_soft_reset = 5;
export const SHUTDOWN_MAX = 5;
