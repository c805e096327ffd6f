/**
 * public/event_channel.h: HYPERVISOR_event_channel_op(cmd, arg).
 *
 * An event channel is a one-bit doorbell: sending sets the port's pending
 * bit and, if the port is unmasked and was not already pending, flags the
 * bound vCPU (evtchn_pending_sel, evtchn_upcall_pending) for an upcall.
 * Further sends are absorbed until the guest clears the bit, so after
 * clearing it a guest must re-check whatever condition it waits for.
 *
 * In every struct below "IN" fields are written by the caller and "OUT"
 * fields by Xen.
 */

/** evtchn_port_t (u32), the element of sched_poll's port list. */
export const evtchn_port_t = { size: 4 } as const;

export const EVTCHNOP_bind_interdomain = 0;
export const EVTCHNOP_bind_virq = 1;
export const EVTCHNOP_bind_pirq = 2;
export const EVTCHNOP_close = 3;
export const EVTCHNOP_send = 4;
export const EVTCHNOP_status = 5;
export const EVTCHNOP_alloc_unbound = 6;
export const EVTCHNOP_bind_ipi = 7;
export const EVTCHNOP_bind_vcpu = 8;
export const EVTCHNOP_unmask = 9;
export const EVTCHNOP_reset = 10;
export const EVTCHNOP_init_control = 11;
export const EVTCHNOP_expand_array = 12;
export const EVTCHNOP_set_priority = 13;

/**
 * alloc_unbound: IN dom (DOMID_SELF unless privileged), remote_dom (who may
 * bind; DOMID_SELF allowed); OUT port, a fresh port of `dom` left unbound.
 */
export const evtchn_alloc_unbound = { size: 8, dom: 0, remote_dom: 2, port: 4 } as const;

/**
 * bind_interdomain: IN remote_dom/remote_port (unbound, offered to us);
 * OUT local_port. The new local port is always set pending, in case the
 * peer signalled before the bind.
 */
export const evtchn_bind_interdomain = { size: 12, remote_dom: 0, remote_port: 4, local_port: 8 } as const;

/** bind_virq: IN virq (VIRQ_*), vcpu; OUT port. Global VIRQs bind on vCPU 0. */
export const evtchn_bind_virq = { size: 12, virq: 0, vcpu: 4, port: 8 } as const;

/** bind_pirq: IN pirq, flags (BIND_PIRQ__*); OUT port. Privileged. */
export const evtchn_bind_pirq = { size: 12, pirq: 0, flags: 4, port: 8 } as const;
export const BIND_PIRQ__WILL_SHARE = 1;

/** bind_ipi: IN vcpu; OUT port, bound to that vCPU for good. */
export const evtchn_bind_ipi = { size: 8, vcpu: 0, port: 4 } as const;

/** close: IN port. An interdomain peer falls back to unbound. */
export const evtchn_close = { size: 4, port: 0 } as const;

/** send: IN port. Notifies the other end of `port`. */
export const evtchn_send = { size: 4, port: 0 } as const;

/** evtchn_status.status. */
export const EVTCHNSTAT_closed = 0;
export const EVTCHNSTAT_unbound = 1;
export const EVTCHNSTAT_interdomain = 2;
export const EVTCHNSTAT_pirq = 3;
export const EVTCHNSTAT_virq = 4;
export const EVTCHNSTAT_ipi = 5;

/**
 * status: IN dom (DOMID_SELF unless privileged), port; OUT status, vcpu,
 * and the union picked by status.
 */
export const evtchn_status = {
  size: 24,
  dom: 0, // domid_t
  port: 4, // u32
  status: 8, // u32: EVTCHNSTAT_*
  vcpu: 12, // u32
  u: 16,
  u_unbound_dom: 16, // domid_t: who may bind
  u_interdomain_dom: 16, // domid_t: peer
  u_interdomain_port: 20, // u32: peer's port
  u_pirq: 16, // u32
  u_virq: 16, // u32
} as const;

/** bind_vcpu: IN port, vcpu. Not allowed for IPI and per-vCPU VIRQ ports. */
export const evtchn_bind_vcpu = { size: 8, port: 0, vcpu: 4 } as const;

/** unmask: IN port. Clears the mask bit and re-raises the upcall if pending. */
export const evtchn_unmask = { size: 4, port: 0 } as const;

/** reset: IN dom. Closes every channel of the domain. */
export const evtchn_reset = { size: 2, dom: 0 } as const;

/** init_control (FIFO ABI): IN control_gfn, offset, vcpu; OUT link_bits. */
export const evtchn_init_control = { size: 24, control_gfn: 0, offset: 8, vcpu: 12, link_bits: 16 } as const;

/** expand_array (FIFO ABI): IN array_gfn. */
export const evtchn_expand_array = { size: 8, array_gfn: 0 } as const;

/** set_priority (FIFO ABI): IN port, priority. */
export const evtchn_set_priority = { size: 8, port: 0, priority: 4 } as const;

/** Ports of the 2-level ABI: 64 words of 64 bits in shared_info. */
export const EVTCHN_2L_NR_CHANNELS = 4096;

// FIFO ABI.
export const EVTCHN_FIFO_PRIORITY_MAX = 0;
export const EVTCHN_FIFO_PRIORITY_DEFAULT = 7;
export const EVTCHN_FIFO_PRIORITY_MIN = 15;
export const EVTCHN_FIFO_MAX_QUEUES = 16;
/** The FIFO ABI's per-port word (event array pages hold them; guest and Xen both write). */
export const event_word_t = { size: 4 } as const;
/** Bit numbers in an event_word_t. */
export const EVTCHN_FIFO_PENDING = 31;
export const EVTCHN_FIFO_MASKED = 30;
export const EVTCHN_FIFO_LINKED = 29;
export const EVTCHN_FIFO_BUSY = 28;
export const EVTCHN_FIFO_LINK_BITS = 17;
export const EVTCHN_FIFO_LINK_MASK = (1 << 17) - 1;
export const EVTCHN_FIFO_NR_CHANNELS = 1 << 17;

/** struct evtchn_fifo_control_block: per-vCPU, guest page; Xen writes ready/head. */
export const evtchn_fifo_control_block = {
  size: 72,
  ready: 0, // u32: bitmap of non-empty queues
  _rsvd: 4,
  head: 8, // u32[EVTCHN_FIFO_MAX_QUEUES]
  head_stride: 4,
} as const;
