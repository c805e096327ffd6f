/**
 * public/vcpu.h: HYPERVISOR_vcpu_op(cmd, vcpuid, arg): bring vCPUs up and
 * down, timers, runstate, and moving vcpu_info out of shared_info.
 */

/** arg = vcpu_guest_context (PV). Once per vCPU; it stays down until VCPUOP_up. */
export const VCPUOP_initialise = 0;
export const VCPUOP_up = 1;
/** Asynchronous unless a vCPU downs itself. */
export const VCPUOP_down = 2;
/** Returns 1 if up. */
export const VCPUOP_is_up = 3;
/** arg = vcpu_runstate_info, written by Xen. */
export const VCPUOP_get_runstate_info = 4;
/** arg = vcpu_register_runstate_memory_area: Xen keeps a copy updated there. */
export const VCPUOP_register_runstate_memory_area = 5;
export const VCPUOP_set_periodic_timer = 6;
export const VCPUOP_stop_periodic_timer = 7;
export const VCPUOP_set_singleshot_timer = 8;
export const VCPUOP_stop_singleshot_timer = 9;
/** arg = vcpu_register_vcpu_info. Once per vCPU. */
export const VCPUOP_register_vcpu_info = 10;
export const VCPUOP_send_nmi = 11;
export const VCPUOP_get_physid = 12;
export const VCPUOP_register_vcpu_time_memory_area = 13;

/**
 * struct vcpu_runstate_info: written by Xen (into the hypercall argument,
 * or into the registered area every time the vCPU is scheduled, where state
 * therefore always reads RUNSTATE_running).
 */
export const vcpu_runstate_info = {
  size: 48,
  state: 0, // int: RUNSTATE_*
  state_entry_time: 8, // u64: system time (ns) the state was entered
  time: 16, // u64[4]: ns spent in each RUNSTATE_*
  time_stride: 8,
} as const;
/**
 * Set in state_entry_time while Xen rewrites a registered copy, when
 * VMASST_TYPE_runstate_update_flag is on (bit 63).
 */
export const XEN_RUNSTATE_UPDATE = 1n << 63n;

export const RUNSTATE_running = 0;
export const RUNSTATE_runnable = 1;
export const RUNSTATE_blocked = 2;
export const RUNSTATE_offline = 3;

/** Guest-written: a guest VA of a vcpu_runstate_info (64-bit PV). */
export const vcpu_register_runstate_memory_area = { size: 8, addr: 0, addr_v: 0, addr_p: 0 } as const;

/** Guest-written; period of the periodic timer (VIRQ_TIMER). */
export const vcpu_set_periodic_timer = { size: 8, period_ns: 0 } as const;

/** Guest-written; one-shot VIRQ_TIMER at an absolute system time. */
export const vcpu_set_singleshot_timer = {
  size: 16,
  timeout_abs_ns: 0, // u64
  flags: 8, // u32: VCPU_SSHOTTMR_*
} as const;
/** Fail with -ETIME if the timeout is already past (Xen may ignore it). */
export const _VCPU_SSHOTTMR_future = 0;
export const VCPU_SSHOTTMR_future = 1;

/**
 * Guest-written: place this vCPU's vcpu_info at machine frame mfn + offset
 * (it must not cross the page). Xen copies the current contents there and
 * uses the new location from then on.
 */
export const vcpu_register_vcpu_info = {
  size: 16,
  mfn: 0, // u64
  offset: 8, // u32
  rsvd: 12, // u32
} as const;

/** Written by Xen: x86 id[31:0] = APIC id, id[63:32] = ACPI id. */
export const vcpu_get_physid = { size: 8, phys_id: 0 } as const;

/** Guest-written: a guest VA of a vcpu_time_info Xen mirrors the master copy into. */
export const vcpu_register_time_memory_area = { size: 8, addr: 0, addr_v: 0, addr_p: 0 } as const;
