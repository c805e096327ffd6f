/**
 * Hypercall dispatch: the 64-bit PV hypercall table. Numbers and names as in
 * public/xen.h; anything not listed returns -ENOSYS.
 */
import type { Decoded } from '../../events.js';
import { doIret } from '../bounce.js';
import type { Domain } from '../domain.js';
import type { Vcpu } from '../vcpu.js';
import type { Xen } from '../xen.js';
import { eventChannelOp } from './evtchn.js';
import { grantTableOp } from './gnttab.js';
import { mcaOp } from './mca.js';
import { platformOp } from './platform.js';
import { consoleIo, sysctlOrDomctl, xenpmuOp, XEN_DOMCTL_INTERFACE_VERSION, XEN_SYSCTL_INTERFACE_VERSION } from './misc.js';
import { physdevOp } from './physdev.js';
import { xenVersion } from './version.js';
import { memoryOp } from './memory.js';
import { mmuextOp, mmuUpdate, updateVaMapping, vmAssist } from './mm.js';
import { schedOp, setTimerOp } from './sched.js';
import { vcpuOp } from './vcpu.js';
import { callbackOp, fpuTaskswitch, getDebugreg, setCallbacks, setDebugreg, setGdt, setSegmentBase, setTrapTable, stackSwitch, updateDescriptor } from './traps.js';
import * as X from '../public/xen.js';
import { E, fld, type HcCtx, type HcHandler } from './types.js';

const MC = X.multicall_entry;
/** Arguments a hypercall takes in registers (rdi, rsi, rdx, r10, r8). */
const NR_ARGS = 5;

const TABLE: Record<number, [string, HcHandler]> = {
  [X.__HYPERVISOR_set_trap_table]: ['set_trap_table', setTrapTable],
  [X.__HYPERVISOR_mmu_update]: ['mmu_update', mmuUpdate],
  [X.__HYPERVISOR_set_gdt]: ['set_gdt', setGdt],
  [X.__HYPERVISOR_stack_switch]: ['stack_switch', stackSwitch],
  [X.__HYPERVISOR_set_callbacks]: ['set_callbacks', setCallbacks],
  [X.__HYPERVISOR_fpu_taskswitch]: ['fpu_taskswitch', fpuTaskswitch],
  [X.__HYPERVISOR_platform_op]: ['platform_op', platformOp],
  [X.__HYPERVISOR_set_debugreg]: ['set_debugreg', setDebugreg],
  [X.__HYPERVISOR_get_debugreg]: ['get_debugreg', getDebugreg],
  [X.__HYPERVISOR_update_descriptor]: ['update_descriptor', updateDescriptor],
  [X.__HYPERVISOR_memory_op]: ['memory_op', memoryOp],
  [X.__HYPERVISOR_multicall]: ['multicall', multicall],
  [X.__HYPERVISOR_update_va_mapping]: ['update_va_mapping', updateVaMapping],
  [X.__HYPERVISOR_set_timer_op]: ['set_timer_op', setTimerOp],
  [X.__HYPERVISOR_xen_version]: ['xen_version', xenVersion],
  [X.__HYPERVISOR_console_io]: ['console_io', consoleIo],
  [X.__HYPERVISOR_grant_table_op]: ['grant_table_op', grantTableOp],
  [X.__HYPERVISOR_vm_assist]: ['vm_assist', vmAssist],
  [X.__HYPERVISOR_iret]: ['iret', (h) => (doIret(h.xen, h.d, h.v) ? null : null)],
  [X.__HYPERVISOR_vcpu_op]: ['vcpu_op', vcpuOp],
  [X.__HYPERVISOR_set_segment_base]: ['set_segment_base', setSegmentBase],
  [X.__HYPERVISOR_mmuext_op]: ['mmuext_op', mmuextOp],
  [X.__HYPERVISOR_sched_op]: ['sched_op', schedOp],
  [X.__HYPERVISOR_callback_op]: ['callback_op', callbackOp],
  [X.__HYPERVISOR_event_channel_op]: ['event_channel_op', eventChannelOp],
  [X.__HYPERVISOR_physdev_op]: ['physdev_op', physdevOp],
  [X.__HYPERVISOR_sysctl]: ['sysctl', sysctlOrDomctl(XEN_SYSCTL_INTERFACE_VERSION)],
  [X.__HYPERVISOR_domctl]: ['domctl', sysctlOrDomctl(XEN_DOMCTL_INTERFACE_VERSION)],
  [X.__HYPERVISOR_xenpmu_op]: ['xenpmu_op', xenpmuOp],
  [X.__HYPERVISOR_arch_0]: ['mca', mcaOp],
};

export function hypercallName(nr: number): string {
  return TABLE[nr]?.[0] ?? `hypercall_${nr}`;
}

export type HcOutcome = { result: number | null; ctx: HcCtx };

/** Run hypercall `nr` with `args` for vCPU `v` of `d`. Never throws for guest input. */
export function hypercall(xen: Xen, d: Domain, v: Vcpu, nr: number, args: bigint[]): HcOutcome {
  const ctx: HcCtx = { xen, d, v, args, decoded: {} as Decoded, sub: -1, subName: '', yieldSlice: false };
  const entry = TABLE[nr];
  const result = entry === undefined ? -E.ENOSYS : entry[1](ctx);
  return { result, ctx };
}

/**
 * multicall(calls, nr): each entry {op, result, args[6]}; results written
 * back. A nested multicall fails (-EINVAL) as an entry. An iret entry ends
 * the batch (XSA-213): its result -- the rax it restored -- is written back
 * and becomes the multicall's return value, and no later entry runs in the
 * context the iret switched to.
 */
function multicall(h: HcCtx): number | null {
  const list = h.args[0]!;
  const nr = Number(h.args[1]! & 0xffffffffn);
  h.decoded.nr_calls = nr;
  const ops: string[] = [];
  for (let k = 0; k < nr; k++) {
    const at = fld(list, MC.size * k);
    const raw = h.v.guest.read(at, MC.size);
    if (raw === null) return -E.EFAULT;
    const dv = new DataView(raw.buffer);
    const op = Number(dv.getBigUint64(MC.op, true) & 0xffffffffn);
    const args = Array.from({ length: NR_ARGS }, (_, i) => dv.getBigUint64(MC.args + MC.args_stride * i, true));
    ops.push(hypercallName(op));
    let result: number;
    if (op === X.__HYPERVISOR_iret) {
      if (!doIret(h.xen, h.d, h.v)) return 0;
      h.decoded.ops = ops.join(',');
      h.v.guest.putU64(fld(at, MC.result), h.v.cpu.getReg(0)); // best effort, in the context iret restored
      return null;
    }
    if (op === X.__HYPERVISOR_multicall) result = -E.EINVAL;
    else {
      const r = hypercall(h.xen, h.d, h.v, op, args);
      result = r.result ?? 0;
      if (r.ctx.yieldSlice) h.yieldSlice = true;
    }
    if (!h.v.guest.putU64(fld(at, MC.result), BigInt.asUintN(64, BigInt(result)))) return -E.EFAULT;
    if (!h.d.alive) break;
  }
  h.decoded.ops = ops.join(',');
  return 0;
}
