/**
 * vCPU runstates as Xen keeps them (xen/common/sched/core.c
 * vcpu_runstate_change / vcpu_runstate_get, xen/arch/x86/domain.c
 * update_runstate_area): running while the vCPU holds the (one, simulated)
 * physical CPU, runnable while it waits for it, blocked, offline. The guest
 * sees them through VCPUOP_get_runstate_info and, once it registered an
 * area (VCPUOP_register_runstate_memory_area, Linux's steal clock), through
 * a copy Xen rewrites at every context switch of that vCPU.
 *
 * Which vCPU holds the CPU is the machine's to say (Vcpu.onCpu): a state
 * change of a vCPU off the CPU applies at once, one of the vCPU on it when
 * the scheduler switches away (descheduling is what ends "running").
 */
import * as VP from './public/vcpu.js';
import { VcpuState, type Vcpu } from './vcpu.js';

export type Runstate = { state: number; entry: number; time: [number, number, number, number] };

export function initialRunstate(state: number, now = 0): Runstate {
  return { state, entry: now, time: [0, 0, 0, 0] };
}

/** The RUNSTATE_* a vCPU in scheduler state `s` has, on the CPU or not. */
export function runstateOf(v: Vcpu): number {
  switch (v.state) {
    case VcpuState.RUNNABLE:
      return v.onCpu ? VP.RUNSTATE_running : VP.RUNSTATE_runnable;
    case VcpuState.DOWN:
      return VP.RUNSTATE_offline;
    default:
      return VP.RUNSTATE_blocked;
  }
}

/** vcpu_runstate_change: account the time spent in the old state. */
export function runstateChange(v: Vcpu, next: number, now: number): void {
  const r = v.runstate;
  if (next === r.state) return;
  const delta = now - r.entry;
  if (delta > 0) r.time[r.state as 0 | 1 | 2 | 3] += delta;
  r.state = next;
  r.entry = now;
}

/** vcpu_runstate_get: the times including the current state's span so far (entry time unchanged). */
export function runstateInfo(v: Vcpu, now: number): Uint8Array {
  return encodeRunstate(v, Math.max(0, now - v.runstate.entry));
}

/** struct vcpu_runstate_info with `current` ns added to the current state's time. */
function encodeRunstate(v: Vcpu, current: number): Uint8Array {
  const r = v.runstate;
  const I = VP.vcpu_runstate_info;
  const b = new Uint8Array(I.size);
  const dv = new DataView(b.buffer);
  dv.setInt32(I.state, r.state, true);
  dv.setBigUint64(I.state_entry_time, BigInt(r.entry), true);
  r.time.forEach((t, k) => dv.setBigUint64(I.time + k * I.time_stride, BigInt(t + (k === r.state ? current : 0)), true));
  return b;
}

/**
 * update_runstate_area: rewrite the registered copy, a guest virtual
 * address. Xen copies in the address space at hand: the vCPU's own at its
 * context switches, the caller's when it registers the area (`via`); here
 * always through that vCPU's kernel page tables, and not at all while it
 * has none (a copy Xen would fail and ignore). With
 * VMASST_TYPE_runstate_update_flag Xen brackets the rewrite with
 * XEN_RUNSTATE_UPDATE in state_entry_time; nothing runs in between here,
 * so only the final value is observable.
 */
export function updateRunstateArea(v: Vcpu, via: Vcpu = v): void {
  if (v.runstateVa === 0n || via.kernelCr3 === 0) return;
  writeViaKernelTables(via, v.runstateVa, encodeRunstate(v, 0)); // a failed copy is ignored, as Xen does
}

/** Write guest virtual memory as `w`'s kernel sees it, even while `w` is in user mode. */
export function writeViaKernelTables(w: Vcpu, va: bigint, bytes: Uint8Array): boolean {
  const user = !w.kernelMode;
  if (user) w.setKernelMode(true);
  const ok = w.guest.write(va, bytes);
  if (user) w.setKernelMode(false);
  return ok;
}
