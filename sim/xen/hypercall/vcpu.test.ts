/**
 * vcpu_op as Xen 4.17 answers it (xen/common/domain.c common_vcpu_op and
 * map_vcpu_info, xen/arch/x86/domain.c do_vcpu_op / update_runstate_area,
 * sched/core.c do_set_timer_op), and the runstates the machine keeps at
 * its context switches.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { SimEvent } from '../../events.js';
import { Machine } from '../../machine.js';
import * as A from '../public/arch-x86/xen.js';
import * as EC from '../public/event_channel.js';
import * as VP from '../public/vcpu.js';
import * as X from '../public/xen.js';
import { corpusBuilt, corpusKernel, struct, testDomains, type TestDomain } from '../test-domain.js';
import { hypercall } from './index.js';

const { Errno } = X;
const vop = X.__HYPERVISOR_vcpu_op;

/** Bring vCPU 1 up on vCPU 0's tables, running `code` (kernel mode, events masked). */
function secondVcpu(t: TestDomain, code: number[]): void {
  const C = A.vcpu_guest_context;
  const ctx = new Uint8Array(C.size);
  const dv = new DataView(ctx.buffer);
  const at = t.scratch + 0x2800n;
  t.put(at, new Uint8Array(code));
  dv.setBigUint64(C.flags, BigInt(A.VGCF_in_kernel), true);
  dv.setBigUint64(C.user_regs + 128, at, true); // rip
  dv.setBigUint64(C.user_regs + 152, t.scratch + 0x2f00n, true); // rsp
  dv.setBigUint64(C.ctrlreg + 24, BigInt(t.v.kernelCr3) << 12n, true);
  t.put(t.scratch + 0x1000n, ctx);
  expect(t.call(vop, VP.VCPUOP_initialise, 1, t.scratch + 0x1000n)).toBe(0);
}
const readRunstate = (t: TestDomain, va: bigint) => {
  const b = t.v.guest.read(va, 48)!;
  const dv = new DataView(b.buffer);
  return { state: dv.getInt32(0, true), entry: Number(dv.getBigUint64(8, true)), time: [0, 1, 2, 3].map((k) => Number(dv.getBigUint64(16 + 8 * k, true))) };
};

describe.skipIf(!corpusBuilt)('vcpu_op', () => {
  it('register_runstate_memory_area: written at once and at every context switch; two spinning vCPUs share the CPU by quantum', () => {
    const [t] = testDomains();
    const { machine, xen } = t!;
    secondVcpu(t!, [0xeb, 0xfe]); // jmp $
    xen.frames.mem.write(t!.v.guest.translate(t!.v.cpu.rip, false), new Uint8Array([0xeb, 0xfe]));
    const area0 = t!.scratch + 0x3000n;
    const area1 = t!.scratch + 0x3040n;
    t!.put(t!.scratch, struct(8, [[0, 8, area0]]));
    expect(t!.call(vop, VP.VCPUOP_register_runstate_memory_area, 0, t!.scratch)).toBe(0);
    expect(readRunstate(t!, area0).state).toBe(VP.RUNSTATE_runnable); // built, not yet scheduled
    t!.put(t!.scratch, struct(8, [[0, 8, area1]]));
    expect(t!.call(vop, VP.VCPUOP_register_runstate_memory_area, 1, t!.scratch)).toBe(0);
    expect(readRunstate(t!, area1).state).toBe(VP.RUNSTATE_offline);
    expect(t!.call(vop, VP.VCPUOP_up, 1, 0)).toBe(0);
    machine.run(3 * machine.quantum);
    // Up at 0; slices v0 0-q, v1 q-2q, v0 2q-3q: v1 waited one quantum, ran one, was switched out at 2q.
    const r1 = readRunstate(t!, area1);
    expect(r1).toEqual({ state: VP.RUNSTATE_runnable, entry: 2 * machine.quantum, time: [machine.quantum, machine.quantum, 0, 0] });
    const r0 = readRunstate(t!, area0);
    expect(r0).toEqual({ state: VP.RUNSTATE_running, entry: 2 * machine.quantum, time: [machine.quantum, machine.quantum, 0, 0] });
    t!.put(t!.scratch, struct(8, [[0, 8, 0xffff800000000000n]]));
    expect(t!.call(vop, VP.VCPUOP_register_runstate_memory_area, 0, t!.scratch)).toBe(-Errno.EFAULT); // Xen's range
  });

  it('get_runstate_info adds the span of the current state', () => {
    const [t] = testDomains();
    expect(t!.call(vop, VP.VCPUOP_get_runstate_info, 1, t!.scratch)).toBe(0);
    expect(readRunstate(t!, t!.scratch)).toEqual({ state: VP.RUNSTATE_offline, entry: 0, time: [0, 0, 0, 0] });
  });

  it('an area registered for a vCPU without page tables yet is written in the caller\'s address space', () => {
    const [t] = testDomains();
    const area = t!.scratch + 0x3100n;
    t!.put(area, new Uint8Array(48).fill(0xee));
    t!.put(t!.scratch, struct(8, [[0, 8, area]]));
    expect(t!.call(vop, VP.VCPUOP_register_runstate_memory_area, 1, t!.scratch)).toBe(0);
    expect(readRunstate(t!, area)).toEqual({ state: VP.RUNSTATE_offline, entry: 0, time: [0, 0, 0, 0] });
  });

  it('register_vcpu_info: aligned, once, for itself or a vCPU that is down; the contents move and every selector bit is set (map_vcpu_info)', () => {
    const [t] = testDomains();
    const { call, put, scratch, d, v, xen } = t!;
    const mfn = d.p2m[Number((scratch + 0x3000n) >> 12n)]!;
    put(scratch, struct(16, [[0, 8, mfn], [8, 4, 4]]));
    expect(call(vop, VP.VCPUOP_register_vcpu_info, 0, scratch)).toBe(-Errno.ENXIO); // misaligned
    put(scratch, struct(16, [[0, 8, mfn], [8, 4, 4064]]));
    expect(call(vop, VP.VCPUOP_register_vcpu_info, 0, scratch)).toBe(-Errno.ENXIO); // crosses the page
    put(scratch, struct(16, [[0, 8, mfn], [8, 4, 64]]));
    const mask = v.upcallMask;
    expect(call(vop, VP.VCPUOP_register_vcpu_info, 0, scratch)).toBe(0);
    expect(v.vcpuInfoMa).toBe(mfn * 4096 + 64);
    expect(v.upcallMask).toBe(mask);
    expect(v.upcallPending).toBe(true);
    expect(t!.u64(scratch + 0x3000n + 64n + 8n)).toBe(0xffffffffffffffffn);
    expect(call(vop, VP.VCPUOP_register_vcpu_info, 0, scratch)).toBe(-Errno.EINVAL); // only once
    put(scratch, struct(16, [[0, 8, mfn], [8, 4, 128]]));
    expect(call(vop, VP.VCPUOP_register_vcpu_info, 1, scratch)).toBe(0); // vCPU 1 is down
    put(scratch, struct(16, [[0, 8, [...d.ptFrames][0]!], [8, 4, 0]]));
    expect(xen.pages.type[mfn]).toBe(6); // PGT.WRITABLE, held
  });

  it('set_singleshot_timer in the past raises VIRQ_TIMER at once (4.17.x ignores VCPU_SSHOTTMR_future); set_timer_op pushes a wrapped timeout to 100 ms', () => {
    const [t] = testDomains();
    const { call, put, scratch, d, xen, v } = t!;
    put(scratch + 64n, struct(12, [[0, 4, X.VIRQ_TIMER], [4, 4, 0]]));
    expect(call(X.__HYPERVISOR_event_channel_op, EC.EVTCHNOP_bind_virq, scratch + 64n)).toBe(0);
    const port = t!.u32(scratch + 72n);
    xen.clock = 5_000;
    put(scratch, struct(16, [[0, 8, 1_000], [8, 4, VP.VCPU_SSHOTTMR_future]]));
    expect(call(vop, VP.VCPUOP_set_singleshot_timer, 0, scratch)).toBe(0);
    expect(xen.isPending(d, port)).toBe(true);
    expect(v.timerDeadline).toBe(-1);
    expect(call(X.__HYPERVISOR_set_timer_op, 0xffffffffffffff00n)).toBe(0);
    expect(v.timerDeadline).toBe(5_000 + 100_000_000);
    expect(call(X.__HYPERVISOR_set_timer_op, 7_000)).toBe(0);
    expect(v.timerDeadline).toBe(7_000);
    expect(call(vop, VP.VCPUOP_stop_singleshot_timer, 1, 0)).toBe(-Errno.EINVAL);
  });

  it('down: the last vCPU going down powers the domain off; get_physid is -EINVAL; send_nmi needs a NULL argument', () => {
    const [t] = testDomains();
    expect(t!.call(vop, VP.VCPUOP_get_physid, 0, t!.scratch)).toBe(-Errno.EINVAL);
    expect(t!.call(vop, VP.VCPUOP_send_nmi, 0, t!.scratch)).toBe(-Errno.EINVAL);
    expect(t!.call(vop, VP.VCPUOP_down, 0, 0)).toBe(0);
    expect([t!.d.state, t!.d.shutdownReason]).toEqual(['shutdown', 'poweroff']);
  });

  it('send_nmi: delivered through trap-table vector 2 on the way back to the guest, once until the iret', () => {
    const events: SimEvent[] = [];
    const image = readFileSync(corpusKernel('hello'));
    const m = new Machine([{ id: 1, name: 'd1', memoryMiB: 8, vcpus: 1, cmdline: '', privileged: false, seed: 0, image }], (e) => events.push(e));
    const d = m.domains[0]!;
    const v = d.vcpus[0]!;
    const code = 0x3f2000n;
    v.guest.write(code, new Uint8Array([0xeb, 0xfe]));
    v.cpu.rip = code;
    v.cpu.setReg(4, 0x3f1f00n);
    const call = (nr: number, ...a: bigint[]) => hypercall(m.xen, d, v, nr, [0, 1, 2, 3, 4].map((k) => a[k] ?? 0n)).result;
    v.guest.write(0x3f0000n, struct(32, [[0, 1, 2], [2, 2, 0xe030], [8, 8, code]]));
    expect(call(X.__HYPERVISOR_set_trap_table, 0x3f0000n)).toBe(0);
    expect(call(vop, BigInt(VP.VCPUOP_send_nmi), 0n, 0n)).toBe(0);
    expect(call(vop, BigInt(VP.VCPUOP_send_nmi), 0n, 0n)).toBe(0); // coalesces while pending
    m.run(1000);
    expect(events.filter((e) => e.kind === 'exception' && e.vector === 2)).toHaveLength(1);
    expect(v.nmiMasked).toBe(true);
  });

  it('IPIs and timers are per vCPU: an IPI port bound on vCPU 1 raises an upcall there, each VIRQ_TIMER goes to its own vCPU', () => {
    const [t] = testDomains();
    const { machine, xen, d, scratch } = t!;
    secondVcpu(t!, [0xeb, 0xfe]);
    xen.frames.mem.write(t!.v.guest.translate(t!.v.cpu.rip, false), new Uint8Array([0xeb, 0xfe]));
    expect(t!.call(vop, VP.VCPUOP_up, 1, 0)).toBe(0);
    const v1 = d.vcpus[1]!;
    const as = (v: typeof v1, nr: number, ...a: bigint[]) => hypercall(xen, d, v, nr, [0, 1, 2, 3, 4].map((k) => a[k] ?? 0n)).result;
    t!.put(scratch, struct(8, [[0, 4, 1]]));
    expect(t!.call(X.__HYPERVISOR_event_channel_op, EC.EVTCHNOP_bind_ipi, scratch)).toBe(0);
    const ipi = t!.u32(scratch + 4n);
    t!.put(scratch, struct(4, [[0, 4, ipi]]));
    t!.v.upcallPending = false;
    v1.upcallPending = false;
    expect(t!.call(X.__HYPERVISOR_event_channel_op, EC.EVTCHNOP_send, scratch)).toBe(0);
    expect([t!.v.upcallPending, v1.upcallPending]).toEqual([false, true]);
    const ports: number[] = [];
    for (const vcpu of [0, 1]) {
      t!.put(scratch + 64n, struct(12, [[0, 4, X.VIRQ_TIMER], [4, 4, vcpu]]));
      expect(t!.call(X.__HYPERVISOR_event_channel_op, EC.EVTCHNOP_bind_virq, scratch + 64n)).toBe(0);
      ports.push(t!.u32(scratch + 72n));
    }
    t!.put(scratch + 128n, struct(16, [[0, 8, 250_000n]]));
    t!.put(scratch + 160n, struct(16, [[0, 8, 450_000n]]));
    expect(as(t!.v, vop, BigInt(VP.VCPUOP_set_singleshot_timer), 0n, scratch + 128n)).toBe(0);
    expect(as(v1, vop, BigInt(VP.VCPUOP_set_singleshot_timer), 1n, scratch + 160n)).toBe(0);
    machine.run(300_000);
    expect([xen.isPending(d, ports[0]!), xen.isPending(d, ports[1]!)]).toEqual([true, false]);
    machine.run(500_000);
    expect(xen.isPending(d, ports[1]!)).toBe(true);
    expect(d.port(ports[1]!)!.vcpu).toBe(1);
  });
});
