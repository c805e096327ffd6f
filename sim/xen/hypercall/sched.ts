/**
 * Scheduling and time: sched_op, set_timer_op, vcpu_op. Blocking calls mark
 * the vCPU and end its slice (`yieldSlice`); the machine's scheduler then
 * runs someone else, jumps time to the next timer when all are idle, and
 * wakes the vCPU on an event or timeout.
 */
import { VcpuState } from '../vcpu.js';
import { E, u32, type HcCtx, subOpNames } from './types.js';
import { initialiseVcpu } from './vcpu-context.js';

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

/** The block or poll event, after the machine looked at the domain's rings (their indices go with it). */
function sleep(h: HcCtx, what: 'block' | 'poll', until: number): void {
  const rings = h.xen.onSleep(h.d, h.v, what);
  h.xen.emit(h.v, h.d.id, rings.length > 0 ? { kind: 'sched', what, until, rings } : { kind: 'sched', what, until });
}

/** set_timer_op(timeout): absolute system time in ns; 0 cancels. */
export function setTimerOp(h: HcCtx): number {
  const t = h.args[0]!;
  h.decoded.timeout = t;
  h.v.timerDeadline = t === 0n ? -1 : Number(t);
  return 0;
}

const VCPUOP_NAMES = ['initialise', 'up', 'down', 'is_up', 'get_runstate_info', 'register_runstate_memory_area', 'set_periodic_timer', 'stop_periodic_timer', 'set_singleshot_timer', 'stop_singleshot_timer', 'register_vcpu_info', 'send_nmi', 'get_physid'];
const VCPUOP_SUB = subOpNames('VCPUOP', VCPUOP_NAMES);
const ETIME = 62;
/** Longest timer delta Xen accepts (STIME_DELTA_MAX). */
const STIME_DELTA_MAX = (1n << 62n) - 1n;

export function vcpuOp(h: HcCtx): number {
  const cmd = u32(h.args[0]!);
  const id = u32(h.args[1]!);
  const arg = h.args[2]!;
  h.sub = cmd;
  h.subName = VCPUOP_SUB(cmd);
  h.decoded.vcpu = id;
  const t = h.d.vcpus[id];
  if (t === undefined) return -E.ENOENT;
  const g = h.v.guest;
  switch (cmd) {
    case 0:
      return initialiseVcpu(h, t, arg);
    case 1:
      if (!t.initialised) return -E.EINVAL;
      if (t.state === VcpuState.DOWN) h.xen.account(t, VcpuState.RUNNABLE);
      t.up = true;
      return 0;
    case 2:
      t.up = false;
      if (t.state !== VcpuState.DOWN) h.xen.account(t, VcpuState.DOWN);
      if (t === h.v) h.yieldSlice = true;
      return 0;
    case 3:
      return t.up ? 1 : 0;
    case 4: {
      const info = new Uint8Array(48);
      const dv = new DataView(info.buffer);
      const state = t.state === VcpuState.DOWN ? 3 : t.state === VcpuState.RUNNABLE ? (t === h.v ? 0 : 1) : 2;
      dv.setUint32(0, state, true);
      dv.setBigUint64(8, BigInt(t.stateSince), true);
      dv.setBigUint64(16, BigInt(t.runningNs), true);
      dv.setBigUint64(32, BigInt(t.blockedNs), true);
      return g.write(arg, info) ? 0 : -E.EFAULT;
    }
    case 5:
      return 0;
    case 6: {
      const period = g.u64(arg);
      if (period === null) return -E.EFAULT;
      h.decoded.period_ns = period;
      if (period < 1_000_000n || period > STIME_DELTA_MAX) return -E.EINVAL;
      h.xen.setPeriodic(t, Number(period));
      return 0;
    }
    case 7:
      h.xen.setPeriodic(t, 0);
      return 0;
    case 8: {
      if (t !== h.v) return -E.EINVAL;
      const timeout = g.u64(arg);
      const flags = g.u32(arg + 8n);
      if (timeout === null || flags === null) return -E.EFAULT;
      h.decoded.timeout = timeout;
      h.decoded.flags = flags;
      if ((flags & 1) !== 0 && Number(timeout) < h.xen.now()) return -ETIME;
      t.timerDeadline = Number(timeout);
      h.xen.emit(h.v, h.d.id, { kind: 'timer', deadline: t.timerDeadline });
      return 0;
    }
    case 9:
      t.timerDeadline = -1;
      return 0;
    case 10: {
      const mfn = g.u64(arg);
      const off = g.u32(arg + 8n);
      if (mfn === null || off === null) return -E.EFAULT;
      const m = Number(mfn & 0xfffffffffn);
      h.decoded.mfn = m;
      h.decoded.offset = off;
      if (off + 64 > 4096 || m >= h.xen.frames.frameCount || h.xen.frames.owner[m] !== h.d.id) return -E.EINVAL;
      const mem = h.xen.frames.mem;
      mem.write(m * 4096 + off, mem.read(t.vcpuInfoMa, 64));
      t.vcpuInfoMa = m * 4096 + off;
      return 0;
    }
    default:
      return -E.ENOSYS;
  }
}
