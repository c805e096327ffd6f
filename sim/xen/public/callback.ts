/**
 * public/callback.h: HYPERVISOR_callback_op(cmd, arg): register the entry
 * points Xen bounces to for events, failsafe returns, syscall and NMI.
 */

/** Event-channel upcall; events are always masked on entry. */
export const CALLBACKTYPE_event = 0;
/** Xen could not restore guest segment state on return. */
export const CALLBACKTYPE_failsafe = 1;
/** `syscall` from 64-bit guest user mode. */
export const CALLBACKTYPE_syscall = 2;
export const CALLBACKTYPE_sysenter_deprecated = 3;
/** NMI; events are always masked on entry. */
export const CALLBACKTYPE_nmi = 4;
/** `sysenter` from 32-bit guest user mode (Intel). */
export const CALLBACKTYPE_sysenter = 5;
/** `syscall` from 32-bit guest user mode (AMD). */
export const CALLBACKTYPE_syscall32 = 7;

/** Mask events (evtchn_upcall_mask = 1) when entering this callback. */
export const _CALLBACKF_mask_events = 0;
export const CALLBACKF_mask_events = 1;

export const CALLBACKOP_register = 0;
/** -EINVAL for types that cannot be unregistered. */
export const CALLBACKOP_unregister = 1;

/** Guest-written. */
export const callback_register = {
  size: 16,
  type: 0, // u16: CALLBACKTYPE_*
  flags: 2, // u16: CALLBACKF_*
  address: 8, // xen_callback_t (ulong VA on x86-64)
} as const;

/** Guest-written. */
export const callback_unregister = { size: 4, type: 0, _unused: 2 } as const;
