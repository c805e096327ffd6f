/**
 * Scheduling and time: sched_op, set_timer_op, vcpu_op. Blocking calls mark
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
import * as V from '../public/vcpu.js';
import {
  RUNSTATE_blocked, RUNSTATE_offline, RUNSTATE_runnable, RUNSTATE_running, VCPU_SSHOTTMR_future, vcpu_register_vcpu_info as RVI,
  vcpu_runstate_info as RSI, vcpu_set_periodic_timer, vcpu_set_singleshot_timer as SST, VCPUOP_down, VCPUOP_get_runstate_info,
  VCPUOP_initialise, VCPUOP_is_up, VCPUOP_register_runstate_memory_area, VCPUOP_register_vcpu_info, VCPUOP_set_periodic_timer,
  VCPUOP_set_singleshot_timer, VCPUOP_stop_periodic_timer, VCPUOP_stop_singleshot_timer, VCPUOP_up,
} from '../public/vcpu.js';
import { vcpu_info } from '../public/xen.js';
import { VcpuState } from '../vcpu.js';
import { E, fld, namesFrom, u32, type HcCtx, subOpNames } from './types.js';
import { initialiseVcpu } from './vcpu-context.js';

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

/** set_timer_op(timeout): absolute system time in ns; 0 cancels. */
export function setTimerOp(h: HcCtx): number {
  const t = h.args[0]!;
  h.decoded.timeout = t;
  h.v.timerDeadline = t === 0n ? -1 : Number(t);
  return 0;
}

const VCPUOP_SUB = subOpNames('VCPUOP', namesFrom(V, 'VCPUOP'));
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
    case VCPUOP_initialise:
      return initialiseVcpu(h, t, arg);
    case VCPUOP_up:
      if (!t.initialised) return -E.EINVAL;
      if (t.state === VcpuState.DOWN) h.xen.account(t, VcpuState.RUNNABLE);
      t.up = true;
      return 0;
    case VCPUOP_down:
      t.up = false;
      if (t.state !== VcpuState.DOWN) h.xen.account(t, VcpuState.DOWN);
      if (t === h.v) h.yieldSlice = true;
      return 0;
    case VCPUOP_is_up:
      return t.up ? 1 : 0;
    case VCPUOP_get_runstate_info: {
      const info = new Uint8Array(RSI.size);
      const dv = new DataView(info.buffer);
      const state = t.state === VcpuState.DOWN ? RUNSTATE_offline : t.state === VcpuState.RUNNABLE ? (t === h.v ? RUNSTATE_running : RUNSTATE_runnable) : RUNSTATE_blocked;
      dv.setUint32(RSI.state, state, true);
      dv.setBigUint64(RSI.state_entry_time, BigInt(t.stateSince), true);
      dv.setBigUint64(RSI.time + RSI.time_stride * RUNSTATE_running, BigInt(t.runningNs), true);
      dv.setBigUint64(RSI.time + RSI.time_stride * RUNSTATE_blocked, BigInt(t.blockedNs), true);
      return g.write(arg, info) ? 0 : -E.EFAULT;
    }
    case VCPUOP_register_runstate_memory_area:
      return 0;
    case VCPUOP_set_periodic_timer: {
      const period = g.u64(fld(arg, vcpu_set_periodic_timer.period_ns));
      if (period === null) return -E.EFAULT;
      h.decoded.period_ns = period;
      if (period < 1_000_000n || period > STIME_DELTA_MAX) return -E.EINVAL;
      h.xen.setPeriodic(t, Number(period));
      return 0;
    }
    case VCPUOP_stop_periodic_timer:
      h.xen.setPeriodic(t, 0);
      return 0;
    case VCPUOP_set_singleshot_timer: {
      if (t !== h.v) return -E.EINVAL;
      const timeout = g.u64(fld(arg, SST.timeout_abs_ns));
      const flags = g.u32(fld(arg, SST.flags));
      if (timeout === null || flags === null) return -E.EFAULT;
      h.decoded.timeout = timeout;
      h.decoded.flags = flags;
      if ((flags & VCPU_SSHOTTMR_future) !== 0 && Number(timeout) < h.xen.now()) return -E.ETIME;
      t.timerDeadline = Number(timeout);
      h.xen.emit(h.v, h.d.id, { kind: 'timer', deadline: t.timerDeadline });
      return 0;
    }
    case VCPUOP_stop_singleshot_timer:
      t.timerDeadline = -1;
      return 0;
    case VCPUOP_register_vcpu_info: {
      const mfn = g.u64(fld(arg, RVI.mfn));
      const off = g.u32(fld(arg, RVI.offset));
      if (mfn === null || off === null) return -E.EFAULT;
      const m = Number(mfn & 0xfffffffffn);
      h.decoded.mfn = m;
      h.decoded.offset = off;
      if (off + vcpu_info.size > 4096 || m >= h.xen.frames.frameCount || h.xen.frames.owner[m] !== h.d.id) return -E.EINVAL;
      const mem = h.xen.frames.mem;
      mem.write(m * 4096 + off, mem.read(t.vcpuInfoMa, vcpu_info.size));
      t.vcpuInfoMa = m * 4096 + off;
      return 0;
    }
    default:
      return -E.ENOSYS;
  }
}
