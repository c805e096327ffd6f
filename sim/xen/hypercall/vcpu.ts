/**
 * vcpu_op(cmd, vcpuid, arg) as Xen 4.17 answers a PV guest: the x86 part
 * (xen/arch/x86/domain.c do_vcpu_op: send_nmi, the secondary time area,
 * get_physid) in front of the common one (xen/common/domain.c
 * common_vcpu_op). A vCPU the domain does not have is -ENOENT.
 *
 * SMP guests bring their other vCPUs up with VCPUOP_initialise (a whole
 * context, vcpu-context.ts) and VCPUOP_up; each then arms its own
 * singleshot timer, registers its own vcpu_info and runstate area.
 */
import { VcpuState, type Vcpu } from '../vcpu.js';
import { PGT } from '../page-types.js';
import { HYPERVISOR_VIRT_END } from '../public/arch-x86/xen-x86_64.js';
import * as VP from '../public/vcpu.js';
import { vcpu_info, vcpu_time_info, VIRQ_TIMER } from '../public/xen.js';
import { runstateInfo, updateRunstateArea } from '../runstate.js';
import { E, fld, namesFrom, u32, type HcCtx, subOpNames } from './types.js';
import { initialiseVcpu } from './vcpu-context.js';

const VCPUOP_SUB = subOpNames('VCPUOP', namesFrom(VP, 'VCPUOP'));
/** Longest timer delta Xen accepts (STIME_DELTA_MAX). */
const STIME_DELTA_MAX = (1n << 62n) - 1n;
/** Where the lower canonical half of a 48-bit address space ends. */
const LOWER_HALF_END = 1n << 47n;
/** guest_handle_okay for a 64-bit PV guest: the range lies in the lower canonical half, or above Xen's hole. */
const handleOk = (va: bigint, len: number): boolean => va + BigInt(len) <= LOWER_HALF_END || va >= HYPERVISOR_VIRT_END;
/** Every bit of a vcpu_info's evtchn_pending_sel. */
const ALL_SELECTORS = (1n << 64n) - 1n;

export function vcpuOp(h: HcCtx): number {
  const cmd = u32(h.args[0]!);
  const id = u32(h.args[1]!);
  const arg = h.args[2]!;
  const { xen, d } = h;
  h.sub = cmd;
  h.subName = VCPUOP_SUB(cmd);
  h.decoded.vcpu = id;
  const t = d.vcpus[id];
  if (t === undefined) return -E.ENOENT;
  const g = h.v.guest;
  switch (cmd) {
    case VP.VCPUOP_initialise:
      return initialiseVcpu(h, t, arg);
    case VP.VCPUOP_up:
      if (!t.initialised) return -E.EINVAL;
      if (!t.up) {
        t.up = true;
        xen.account(t, VcpuState.RUNNABLE);
      }
      return 0;
    case VP.VCPUOP_down: {
      // The last vCPU going down powers the domain off.
      if (!d.vcpus.some((o) => o !== t && o.up)) {
        xen.shutdown(d, 'poweroff');
        h.yieldSlice = true;
        return 0;
      }
      if (t.up) {
        t.up = false;
        xen.account(t, VcpuState.DOWN);
      }
      if (t === h.v) h.yieldSlice = true;
      return 0;
    }
    case VP.VCPUOP_is_up:
      return t.up ? 1 : 0;
    case VP.VCPUOP_get_runstate_info:
      return g.write(arg, runstateInfo(t, xen.now())) ? 0 : -E.EFAULT;
    case VP.VCPUOP_register_runstate_memory_area: {
      const va = g.u64(fld(arg, VP.vcpu_register_runstate_memory_area.addr));
      if (va === null) return -E.EFAULT;
      h.decoded.addr = va;
      if (!handleOk(va, VP.vcpu_runstate_info.size)) return -E.EFAULT;
      t.runstateVa = va;
      updateRunstateArea(t, h.v);
      return 0;
    }
    case VP.VCPUOP_set_periodic_timer: {
      const period = g.u64(fld(arg, VP.vcpu_set_periodic_timer.period_ns));
      if (period === null) return -E.EFAULT;
      h.decoded.period_ns = period;
      if (period < 1_000_000n || period > STIME_DELTA_MAX) return -E.EINVAL;
      xen.setPeriodic(t, Number(period));
      return 0;
    }
    case VP.VCPUOP_stop_periodic_timer:
      xen.setPeriodic(t, 0);
      return 0;
    case VP.VCPUOP_set_singleshot_timer: {
      if (t !== h.v) return -E.EINVAL;
      const timeout = g.u64(fld(arg, VP.vcpu_set_singleshot_timer.timeout_abs_ns));
      const flags = g.u32(fld(arg, VP.vcpu_set_singleshot_timer.flags));
      if (timeout === null || flags === null) return -E.EFAULT;
      h.decoded.timeout = timeout;
      h.decoded.flags = flags;
      // Xen 4.17.x ignores VCPU_SSHOTTMR_future: a past timeout raises the timer event at once.
      if (Number(timeout) < xen.now()) {
        t.timerDeadline = -1;
        xen.emit(h.v, d.id, { kind: 'timer', deadline: xen.now() });
        xen.raiseVirq(d, t.id, VIRQ_TIMER);
        return 0;
      }
      t.timerDeadline = Number(timeout);
      xen.emit(h.v, d.id, { kind: 'timer', deadline: t.timerDeadline });
      return 0;
    }
    case VP.VCPUOP_stop_singleshot_timer:
      if (t !== h.v) return -E.EINVAL;
      t.timerDeadline = -1;
      return 0;
    case VP.VCPUOP_register_vcpu_info:
      return registerVcpuInfo(h, t, arg);
    case VP.VCPUOP_send_nmi:
      if (arg !== 0n) return -E.EINVAL;
      if (!t.nmiPending) {
        t.nmiPending = true;
        xen.kick(t);
      }
      return 0;
    case VP.VCPUOP_get_physid:
      return -E.EINVAL; // only for a hardware domain's pinned vCPUs
    case VP.VCPUOP_register_vcpu_time_memory_area: {
      const va = g.u64(fld(arg, VP.vcpu_register_time_memory_area.addr));
      if (va === null) return -E.EFAULT;
      h.decoded.addr = va;
      if (!handleOk(va, vcpu_time_info.size)) return -E.EFAULT;
      t.timeInfoVa = va;
      xen.updateTime(t, h.v);
      return 0;
    }
    default:
      return -E.ENOSYS;
  }
}

/**
 * map_vcpu_info: move vCPU `t`'s vcpu_info to (mfn, offset) of a writable
 * page of the domain (a reference Xen keeps), once, for the caller itself
 * or a vCPU that is down. The old contents come along; then every
 * selector bit is set and an upcall made pending, so nothing is lost.
 */
function registerVcpuInfo(h: HcCtx, t: Vcpu, arg: bigint): number {
  const { xen, d } = h;
  const g = h.v.guest;
  const mfnArg = g.u64(fld(arg, VP.vcpu_register_vcpu_info.mfn));
  const off = g.u32(fld(arg, VP.vcpu_register_vcpu_info.offset));
  if (mfnArg === null || off === null) return -E.EFAULT;
  const mfn = Number(mfnArg & 0xfffffffffn);
  h.decoded.mfn = mfn;
  h.decoded.offset = off;
  if (off > 4096 - vcpu_info.size || (off & 7) !== 0) return -E.ENXIO;
  if (t.vcpuInfoRegistered) return -E.EINVAL;
  if (t !== h.v && t.up) return -E.EINVAL;
  if (!xen.pages.owned(d, mfn) || xen.pages.getType(d, mfn, PGT.WRITABLE) !== 0) return -E.EINVAL;
  const mem = xen.frames.mem;
  mem.write(mfn * 4096 + off, mem.read(t.vcpuInfoMa, vcpu_info.size));
  t.vcpuInfoMa = mfn * 4096 + off;
  t.vcpuInfoRegistered = true;
  mem.frame(mfn)!.setBigUint64(off + vcpu_info.evtchn_pending_sel, ALL_SELECTORS, true);
  t.upcallPending = false;
  xen.markEventsPending(t);
  xen.updateTime(t, h.v); // force_update_vcpu_system_time
  return 0;
}
