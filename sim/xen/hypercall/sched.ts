/**
 * Scheduling and time: sched_op, set_timer_op (vcpu_op is vcpu.ts). Blocking calls mark
 * the vCPU and end its slice (`yieldSlice`); the machine's scheduler then
 * runs someone else, jumps time to the next timer when all are idle, and
 * wakes the vCPU on an event or timeout.
 */
import { evtchn_port_t } from '../public/event_channel.js';
import * as S from '../public/sched.js';
import {
  sched_poll, sched_shutdown, SCHEDOP_block, SCHEDOP_pin_override, SCHEDOP_poll, SCHEDOP_remote_shutdown, SCHEDOP_shutdown,
  SCHEDOP_shutdown_code, SCHEDOP_watchdog, SCHEDOP_yield,
} from '../public/sched.js';
import { VcpuState } from '../vcpu.js';
import { E, fld, namesFrom, u32, type HcCtx, subOpNames } from './types.js';

/** SHUTDOWN_* reason -> name. */
const SHUTDOWN_REASONS: Record<number, string> = {
  [S.SHUTDOWN_poweroff]: 'poweroff', [S.SHUTDOWN_reboot]: 'reboot', [S.SHUTDOWN_suspend]: 'suspend',
  [S.SHUTDOWN_crash]: 'crash', [S.SHUTDOWN_watchdog]: 'watchdog', [S.SHUTDOWN_soft_reset]: 'soft_reset',
};
const SCHEDOP_SUB = subOpNames('SCHEDOP', namesFrom(S, 'SCHEDOP'));
/** Xen's limit on sched_poll.nr_ports (do_poll: 128, not ABI). */
const MAX_POLL_PORTS = 128;

export function schedOp(h: HcCtx): number {
  const cmd = u32(h.args[0]!);
  const arg = h.args[1]!;
  const { xen, d, v } = h;
  h.sub = cmd;
  h.subName = SCHEDOP_SUB(cmd);
  switch (cmd) {
    case SCHEDOP_yield:
      h.yieldSlice = true;
      xen.emit(v, d.id, { kind: 'sched', what: 'yield', until: 0 });
      return 0;
    case SCHEDOP_block:
      // Blocking enables event delivery; an already pending event means no sleep.
      v.upcallMask = false;
      if (v.upcallPending) return 0;
      xen.account(v, VcpuState.BLOCKED);
      xen.emit(v, d.id, { kind: 'sched', what: 'block', until: v.timerDeadline });
      h.yieldSlice = true;
      return 0;
    case SCHEDOP_shutdown: {
      const reason = v.guest.u32(fld(arg, sched_shutdown.reason));
      if (reason === null) return -E.EFAULT;
      h.decoded.reason = SHUTDOWN_REASONS[reason] ?? String(reason);
      if (reason > S.SHUTDOWN_MAX) return -E.EINVAL;
      xen.shutdown(d, SHUTDOWN_REASONS[reason]!);
      h.yieldSlice = true;
      return 0;
    }
    case SCHEDOP_poll: {
      const raw = v.guest.read(arg, sched_poll.size);
      if (raw === null) return -E.EFAULT;
      const dv = new DataView(raw.buffer);
      const list = dv.getBigUint64(sched_poll.ports, true);
      const nr = dv.getUint32(sched_poll.nr_ports, true);
      const timeout = dv.getBigUint64(sched_poll.timeout, true);
      if (nr > MAX_POLL_PORTS) return -E.EINVAL;
      const ports: number[] = [];
      for (let k = 0; k < nr; k++) {
        const p = v.guest.u32(fld(list, evtchn_port_t.size * k));
        if (p === null) return -E.EFAULT;
        if (d.port(p) === null) return -E.EINVAL;
        ports.push(p);
      }
      h.decoded.ports = ports;
      h.decoded.timeout = timeout;
      if (ports.some((p) => xen.isPending(d, p))) return 0;
      if (timeout !== 0n && Number(timeout) <= xen.now()) return 0;
      xen.account(v, VcpuState.POLLING);
      v.pollPorts = ports;
      v.pollDeadline = timeout === 0n ? -1 : Number(timeout);
      xen.emit(v, d.id, { kind: 'sched', what: 'poll', until: v.pollDeadline });
      h.yieldSlice = true;
      return 0;
    }
    case SCHEDOP_remote_shutdown:
    case SCHEDOP_shutdown_code:
    case SCHEDOP_watchdog:
    case SCHEDOP_pin_override:
      return d.privileged ? -E.ENOSYS : -E.EPERM;
    default:
      return -E.ENOSYS;
  }
}

/**
 * set_timer_op(timeout): the singleshot timer at an absolute system time in
 * ns; 0 cancels. A timeout negative as s64 or more than 2^50 ns ahead is
 * Linux's jiffies wrap: Xen fires it in 100 ms instead (sched/core.c
 * do_set_timer_op). One already past fires at the next opportunity.
 */
export function setTimerOp(h: HcCtx): number {
  const t = h.args[0]!;
  h.decoded.timeout = t;
  const now = h.xen.now();
  const offset = BigInt.asIntN(64, t) - BigInt(now);
  if (t === 0n) h.v.timerDeadline = -1;
  else if (BigInt.asIntN(64, t) < 0n || (offset > 0n && offset >> 50n !== 0n)) h.v.timerDeadline = now + 100_000_000;
  else h.v.timerDeadline = Number(t);
  return 0;
}
