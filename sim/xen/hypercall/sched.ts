/**
 * Scheduling and time: sched_op, set_timer_op (vcpu_op is vcpu.ts). Blocking calls mark
 * the vCPU and end its slice (`yieldSlice`); the machine's scheduler then
 * runs someone else, jumps time to the next timer when all are idle, and
 * wakes the vCPU on an event or timeout.
 */
import { VcpuState } from '../vcpu.js';
import { E, u32, type HcCtx, subOpNames } from './types.js';

const SHUTDOWN_REASONS = ['poweroff', 'reboot', 'suspend', 'crash', 'watchdog', 'soft_reset'];
const SCHEDOP_NAMES = ['yield', 'block', 'shutdown', 'poll', 'remote_shutdown', 'shutdown_code', 'watchdog', 'pin_override'];
const SCHEDOP_SUB = subOpNames('SCHEDOP', SCHEDOP_NAMES);
const MAX_POLL_PORTS = 128;

export function schedOp(h: HcCtx): number {
  const cmd = u32(h.args[0]!);
  const arg = h.args[1]!;
  const { xen, d, v } = h;
  h.sub = cmd;
  h.subName = SCHEDOP_SUB(cmd);
  switch (cmd) {
    case 0:
      h.yieldSlice = true;
      xen.emit(v, d.id, { kind: 'sched', what: 'yield', until: 0 });
      return 0;
    case 1:
      // Blocking enables event delivery; an already pending event means no sleep.
      v.upcallMask = false;
      if (v.upcallPending) return 0;
      xen.account(v, VcpuState.BLOCKED);
      sleep(h, 'block', v.timerDeadline);
      h.yieldSlice = true;
      return 0;
    case 2: {
      const reason = v.guest.u32(arg);
      if (reason === null) return -E.EFAULT;
      h.decoded.reason = SHUTDOWN_REASONS[reason] ?? String(reason);
      if (reason >= SHUTDOWN_REASONS.length) return -E.EINVAL;
      xen.shutdown(d, SHUTDOWN_REASONS[reason]!);
      h.yieldSlice = true;
      return 0;
    }
    case 3: {
      const raw = v.guest.read(arg, 24);
      if (raw === null) return -E.EFAULT;
      const dv = new DataView(raw.buffer);
      const list = dv.getBigUint64(0, true);
      const nr = dv.getUint32(8, true);
      const timeout = dv.getBigUint64(16, true);
      if (nr > MAX_POLL_PORTS) return -E.EINVAL;
      const ports: number[] = [];
      for (let k = 0; k < nr; k++) {
        const p = v.guest.u32(list + BigInt(4 * k));
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
      sleep(h, 'poll', v.pollDeadline);
      h.yieldSlice = true;
      return 0;
    }
    case 4:
    case 5:
    case 6:
    case 7:
      return d.privileged ? -E.ENOSYS : -E.EPERM;
    default:
      return -E.ENOSYS;
  }
}

/**
 * The block or poll event, after the machine looked at the domain's rings
 * (their indices go with it, read only when someone listens).
 */
function sleep(h: HcCtx, what: 'block' | 'poll', until: number): void {
  const indices = h.xen.onSleep(h.d, h.v, what);
  h.xen.emit(h.v, h.d.id, () => {
    const rings = indices();
    return rings.length > 0 ? { kind: 'sched', what, until, rings } : { kind: 'sched', what, until };
  });
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
