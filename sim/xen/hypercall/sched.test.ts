/**
 * vcpu_op: VCPUOP_initialise (XSA-296's secondary vCPU), the periodic timer
 * Xen gives every PV vCPU (10 ms, settable, stopped while blocked) fired by
 * the machine at exact virtual times, and the ports an upcall delivers.
 * The guests here are corpus kernels whose entry is patched to spin or to
 * block at once, so only the hypervisor acts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { SimEvent } from '../../events.js';
import { Machine } from '../../machine.js';
import * as A from '../public/arch-x86/xen.js';
import * as EC from '../public/event_channel.js';
import * as X from '../public/xen.js';
import { corpusBuilt, corpusKernel, struct, testDomains, type TestDomain } from '../test-domain.js';
import { hypercall } from './index.js';

const { Errno } = X;
const VCPUOP = { initialise: 0, up: 1, set_periodic: 6, stop_periodic: 7, set_singleshot: 8 } as const;

/** One 8 MiB domain whose entry point is replaced by `code`, with an event sink. */
function patched(code: number[]) {
  const events: SimEvent[] = [];
  const image = readFileSync(corpusKernel('hello'));
  const m = new Machine([{ id: 1, name: 'd1', memoryMiB: 8, vcpus: 1, cmdline: '', privileged: false, seed: 0, image }], (e) => events.push(e));
  const d = m.domains[0]!;
  const v = d.vcpus[0]!;
  m.xen.frames.mem.write(v.guest.translate(v.cpu.rip, false), new Uint8Array(code));
  const scratch = 0x3f0000n;
  const call = (nr: number, ...args: Array<bigint | number>): number | null =>
    hypercall(m.xen, d, v, nr, [0, 1, 2, 3, 4].map((k) => BigInt(args[k] ?? 0))).result;
  const put = (va: bigint, b: Uint8Array): void => void v.guest.write(va, b);
  return { m, d, v, events, scratch, call, put };
}
type P = ReturnType<typeof patched>;
const SPIN = [0xeb, 0xfe];
/** mov edi, 1 (SCHEDOP_block); mov eax, 29; syscall; jmp $ */
const BLOCK = [0xbf, 1, 0, 0, 0, 0xb8, 29, 0, 0, 0, 0x0f, 0x05, 0xeb, 0xfe];

function bindTimer(p: P): number {
  p.put(p.scratch, struct(12, [[0, 4, X.VIRQ_TIMER], [4, 4, 0]]));
  expect(p.call(X.__HYPERVISOR_event_channel_op, EC.EVTCHNOP_bind_virq, p.scratch)).toBe(0);
  return p.v.guest.u32(p.scratch + 8n)!;
}
function setPeriodic(p: P | TestDomain, ns: bigint, vcpu = 0): number {
  p.put(p.scratch + 64n, struct(8, [[0, 8, ns]]));
  return p.call(X.__HYPERVISOR_vcpu_op, VCPUOP.set_periodic, vcpu, p.scratch + 64n)!;
}
/** Times timers fired (a 'timer' event at its own deadline; arming one is reported with a later deadline). */
const timerTimes = (p: P): number[] => p.events.filter((e) => e.kind === 'timer' && e.deadline === e.time).map((e) => e.time);

describe.skipIf(!corpusBuilt)('vcpu_op', () => {
  it('VCPUOP_initialise: once per vCPU, canonical addresses, a validated L4; VCPUOP_up needs it', () => {
    const [t] = testDomains();
    const { call, put, scratch, xen } = t!;
    const v1 = t!.d.vcpus[1]!;
    expect(call(X.__HYPERVISOR_vcpu_op, VCPUOP.up, 1, 0)).toBe(-Errno.EINVAL);
    const ctx = new Uint8Array(A.vcpu_guest_context.size);
    const dv = new DataView(ctx.buffer);
    const C = A.vcpu_guest_context;
    dv.setBigUint64(C.flags, BigInt(A.VGCF_in_kernel), true);
    dv.setBigUint64(C.user_regs + 128, 0x8000000000000000n, true); // rip: not canonical
    dv.setBigUint64(C.ctrlreg + 24, BigInt(t!.v.kernelCr3) << 12n, true);
    const at = scratch + 0x1000n;
    put(at, ctx);
    expect(call(X.__HYPERVISOR_vcpu_op, VCPUOP.initialise, 1, at)).toBe(-Errno.EINVAL);
    dv.setBigUint64(C.user_regs + 128, 0x100000n, true);
    dv.setBigUint64(C.ctrlreg + 24, BigInt(t!.d.p2m[0x3f1]!) << 12n, true); // a data page as the L4: zero entries validate
    put(at, ctx);
    expect(call(X.__HYPERVISOR_vcpu_op, VCPUOP.initialise, 1, at)).toBe(-Errno.EINVAL); // still mapped writable
    dv.setBigUint64(C.ctrlreg + 24, BigInt(t!.v.kernelCr3) << 12n, true);
    put(at, ctx);
    const l4refs = xen.pages.count[t!.v.kernelCr3]!;
    expect(call(X.__HYPERVISOR_vcpu_op, VCPUOP.initialise, 1, at)).toBe(0);
    expect(xen.pages.count[t!.v.kernelCr3]).toBe(l4refs + 1);
    expect([v1.initialised, v1.cpu.rip, v1.kernelCr3, v1.state]).toEqual([true, 0x100000n, t!.v.kernelCr3, 'down']);
    expect(call(X.__HYPERVISOR_vcpu_op, VCPUOP.initialise, 1, at)).toBe(-Errno.EEXIST);
    expect(call(X.__HYPERVISOR_vcpu_op, VCPUOP.up, 1, 0)).toBe(0);
    expect(v1.state).toBe('runnable');
  });

  it('periodic timer: 10 ms from boot, at least 1 ms, stoppable; singleshot only for the calling vCPU', () => {
    const [t] = testDomains();
    expect([t!.v.periodicPeriod, t!.v.periodicDeadline]).toEqual([10_000_000, 10_000_000]);
    expect(setPeriodic(t!, 999_999n)).toBe(-Errno.EINVAL);
    expect(setPeriodic(t!, 1n << 62n)).toBe(-Errno.EINVAL);
    expect(setPeriodic(t!, 2_000_000n)).toBe(0);
    expect(t!.v.periodicDeadline).toBe(2_000_000);
    expect(t!.call(X.__HYPERVISOR_vcpu_op, VCPUOP.stop_periodic, 0, 0)).toBe(0);
    expect(t!.v.periodicDeadline).toBe(-1);
    t!.put(t!.scratch, struct(16, [[0, 8, 5_000_000n]]));
    expect(t!.call(X.__HYPERVISOR_vcpu_op, VCPUOP.set_singleshot, 1, t!.scratch)).toBe(-Errno.EINVAL);
  });

  it('the machine fires the periodic VIRQ_TIMER at exact virtual times', () => {
    const p = patched(SPIN);
    const port = bindTimer(p);
    expect(setPeriodic(p, 1_000_000n)).toBe(0);
    p.m.run(3_500_000);
    expect(timerTimes(p)).toEqual([1_000_000, 2_000_000, 3_000_000]);
    const sends = p.events.filter((e) => e.kind === 'evtchn_send');
    expect(sends.map((e) => (e.kind === 'evtchn_send' ? [e.time, e.toPort, e.virq] : []))).toEqual([1, 2, 3].map((k) => [k * 1_000_000, port, 0]));
  });

  it('blocking stops the periodic timer; waking later raises the overdue tick at once', () => {
    const p = patched(BLOCK);
    bindTimer(p);
    expect(setPeriodic(p, 1_000_000n)).toBe(0);
    p.put(p.scratch + 128n, struct(16, [[0, 8, 5_000_000n]]));
    expect(p.call(X.__HYPERVISOR_vcpu_op, VCPUOP.set_singleshot, 0, p.scratch + 128n)).toBe(0);
    p.m.run(1_200_000 + 20);
    // blocked from its third instruction until the singleshot at 5 ms: the periodic ticks resume from there
    expect(timerTimes(p)).toEqual([5_000_000, 5_000_000, 6_000_000]);
  });

  it('a blocked vCPU with no timer left deadlocks the run instead of ticking', () => {
    const p = patched(BLOCK);
    bindTimer(p);
    expect(p.m.run(50_000_000).stop).toBe('deadlock');
    expect(timerTimes(p)).toEqual([]);
  });

  it('an upcall reports the ports pending and unmasked for its vCPU', () => {
    const p = patched(SPIN);
    const port = bindTimer(p);
    p.put(p.scratch + 192n, struct(16, [[0, 2, 0], [8, 8, p.v.cpu.rip]])); // CALLBACKTYPE_event: the spin loop
    expect(p.call(X.__HYPERVISOR_callback_op, 0, p.scratch + 192n)).toBe(0);
    p.put(p.scratch + 256n, struct(8, [[0, 2, X.DOMID_SELF], [2, 2, 0]]));
    expect(p.call(X.__HYPERVISOR_event_channel_op, EC.EVTCHNOP_alloc_unbound, p.scratch + 256n)).toBe(0);
    const masked = p.v.guest.u32(p.scratch + 260n)!;
    const si = p.m.xen.frames.mem.frame(p.d.sharedInfoMfn)!;
    si.setUint8(2560 + (masked >> 3), 1 << (masked & 7)); // mask it, then make it pending
    si.setUint8(2048 + (masked >> 3), 1 << (masked & 7));
    p.v.upcallMask = false;
    expect(setPeriodic(p, 1_000_000n)).toBe(0);
    p.m.run(1_100_000);
    const deliveries = p.events.filter((e) => e.kind === 'evtchn_deliver');
    expect(deliveries.length).toBe(1);
    expect(deliveries[0]!.kind === 'evtchn_deliver' && deliveries[0]!.ports).toEqual([port]);
  });

  it('SCHEDOP_poll also ends when any event is marked pending for the vCPU (vcpu_kick -> vcpu_unblock)', () => {
    const p = patched(SPIN);
    p.put(p.scratch + 256n, struct(8, [[0, 2, X.DOMID_SELF], [2, 2, 0]]));
    expect(p.call(X.__HYPERVISOR_event_channel_op, EC.EVTCHNOP_alloc_unbound, p.scratch + 256n)).toBe(0);
    const polled = p.v.guest.u32(p.scratch + 260n)!;
    expect(p.call(X.__HYPERVISOR_event_channel_op, EC.EVTCHNOP_alloc_unbound, p.scratch + 256n)).toBe(0);
    const other = p.v.guest.u32(p.scratch + 260n)!;
    p.put(p.scratch, struct(4, [[0, 4, polled]]));
    p.put(p.scratch + 8n, struct(24, [[0, 8, p.scratch], [8, 4, 1], [16, 8, 0]]));
    expect(p.call(X.__HYPERVISOR_sched_op, 3, p.scratch + 8n)).toBe(0);
    expect(p.v.state).toBe('polling');
    p.m.xen.setPending(p.d, other);
    expect(p.v.state).toBe('runnable');
  });
});
