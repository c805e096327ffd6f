/**
 * The x87/SSE state of a PV guest as Xen presents it: fpu_taskswitch sets
 * the virtual CR0.TS, an x87/SSE instruction then raises #NM through the
 * trap table and Xen clears TS on the way (do_device_not_available); mov to
 * CR0 and clts change it too. VCPUOP_initialise loads the FXSAVE image of
 * VGCF_I387_VALID (clearing one FXRSTOR would refuse). An instruction the
 * core does not implement stops the whole run with its name. An unmasked
 * SSE exception is #XM (vector 19) bounced through the trap table.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { SimEvent } from '../events.js';
import { Machine } from '../machine.js';
import * as A from './public/arch-x86/xen.js';
import * as X from './public/xen.js';
import { corpusBuilt, corpusKernel, struct, testDomains } from './test-domain.js';
import { hypercall } from './hypercall/index.js';

/** One domain whose entry point is replaced by `code`; `handler` bytes at scratch + 0x2000 are the handler of `vector` (#NM). */
function patched(code: number[], handler: number[] = [0xeb, 0xfe], vector = 7) {
  const events: SimEvent[] = [];
  const image = readFileSync(corpusKernel('hello'));
  const m = new Machine([{ id: 1, name: 'd1', memoryMiB: 8, vcpus: 1, cmdline: '', privileged: false, seed: 0, image }], (e) => events.push(e));
  const d = m.domains[0]!;
  const v = d.vcpus[0]!;
  const entry = v.cpu.rip;
  m.xen.frames.mem.write(v.guest.translate(entry, false), new Uint8Array(code));
  const scratch = 0x3f0000n;
  v.guest.write(scratch + 0x2000n, new Uint8Array(handler));
  v.cpu.setReg(4, scratch + 0x1f00n);
  const call = (nr: number, ...args: Array<bigint | number>): number | null => hypercall(m.xen, d, v, nr, [0, 1, 2, 3, 4].map((k) => BigInt(args[k] ?? 0))).result;
  // trap table: `vector` -> the handler
  v.guest.write(scratch, struct(32, [[0, 1, vector], [1, 1, 0], [2, 2, 0xe033], [8, 8, scratch + 0x2000n]]));
  expect(call(X.__HYPERVISOR_set_trap_table, scratch)).toBe(0);
  return { m, d, v, events, scratch, entry, call };
}

describe.skipIf(!corpusBuilt)('x87/SSE in a PV guest', () => {
  it('fpu_taskswitch(1): the next SSE instruction takes #NM through the trap table and finds TS clear', () => {
    // pxor xmm1, xmm1; jmp $
    const p = patched([0x66, 0x0f, 0xef, 0xc9, 0xeb, 0xfe]);
    expect(p.call(X.__HYPERVISOR_fpu_taskswitch, 1)).toBe(0);
    expect([p.v.cr0Ts, p.v.cpu.ts]).toEqual([true, true]);
    p.m.run(1000);
    const exc = p.events.filter((e) => e.kind === 'exception');
    expect(exc.map((e) => e.kind === 'exception' && [e.vector, e.bounced])).toEqual([[7, true]]);
    expect([p.v.cr0Ts, p.v.cpu.ts, p.v.cpu.rip]).toEqual([false, false, p.scratch + 0x2000n]);
    // The handler returns (iret elsewhere); here: the instruction now runs.
    p.v.cpu.rip = p.entry;
    p.m.run(2000);
    expect(p.events.filter((e) => e.kind === 'exception')).toHaveLength(1);
    expect(p.v.cpu.rip).toBe(p.entry + 4n);
  });

  it('mov to CR0 and clts set and clear the virtual TS the core checks; fpu_taskswitch(0) clears it', () => {
    const [t] = testDomains();
    const v = t!.v;
    const at = t!.scratch + 0x2000n;
    const run = (bytes: number[]): number => {
      t!.put(at, new Uint8Array(bytes));
      v.cpu.rip = at;
      return v.cpu.run(1).vector;
    };
    v.cpu.setReg(0, 0x80050033n | 8n);
    expect(run([0x0f, 0x22, 0xc0])).toBe(-1); // mov cr0, rax
    expect([v.cr0Ts, run([0xdb, 0xe3])]).toEqual([true, 7]); // fninit: #NM
    expect(run([0x0f, 0x06])).toBe(-1); // clts
    expect([v.cr0Ts, run([0xdb, 0xe3])]).toEqual([false, -1]);
    t!.call(X.__HYPERVISOR_fpu_taskswitch, 1);
    t!.call(X.__HYPERVISOR_fpu_taskswitch, 0);
    expect(run([0x0f, 0xae, 0xe8, 0x66, 0x0f, 0xef, 0xc0])).toBe(-1);
  });

  it('VCPUOP_initialise loads the FXSAVE image of VGCF_I387_VALID, else the power-on state; a bad MXCSR clears it', () => {
    const init = (flags: number, mxcsr: number): import('../cpu/cpu.js').Cpu => {
      const [t] = testDomains();
      const C = A.vcpu_guest_context;
      const ctx = new Uint8Array(C.size);
      const dv = new DataView(ctx.buffer);
      dv.setBigUint64(C.flags, BigInt(A.VGCF_in_kernel | flags), true);
      dv.setBigUint64(C.user_regs + 128, 0x100000n, true);
      dv.setBigUint64(C.ctrlreg + 24, BigInt(t!.v.kernelCr3) << 12n, true);
      dv.setUint16(C.fpu_ctxt, 0x27f, true);
      dv.setUint32(C.fpu_ctxt + 24, mxcsr, true);
      dv.setUint32(C.fpu_ctxt + 160 + 16 * 3, 0xdeadbeef, true);
      t!.put(t!.scratch + 0x1000n, ctx);
      expect(t!.call(X.__HYPERVISOR_vcpu_op, 0, 1, t!.scratch + 0x1000n)).toBe(0);
      return t!.d.vcpus[1]!.cpu;
    };
    const withImage = init(A.VGCF_I387_VALID, 0x9f80);
    expect([withImage.x87[0], withImage.mxcsr, withImage.xmm[12]]).toEqual([0x27f, 0x9f80, 0xdeadbeef]);
    const without = init(0, 0x9f80);
    expect([without.x87[0], without.mxcsr, without.xmm[12]]).toEqual([0x37f, 0x1f80, 0]);
    const bad = init(A.VGCF_I387_VALID, 0x10000);
    expect([bad.x87[0], bad.mxcsr, bad.xmm[12]]).toEqual([0x40, 0, 0]);
  });

  it('an unmasked SSE exception is #XM (vector 19) through the trap table: no error code, RIP at the instruction, MXCSR says why', () => {
    // divps xmm1, xmm2 (1/0, ZE unmasked); jmp $
    const p = patched([0x0f, 0x5e, 0xca, 0xeb, 0xfe], [0xeb, 0xfe], 19);
    const c = p.v.cpu;
    c.xmm.fill(0x3f800000, 4, 8);
    c.xmm.fill(0, 8, 12);
    c.mxcsr = 0x1f80 & ~0x200;
    const sp = c.getReg(4);
    p.m.run(1000);
    const exc = p.events.filter((e) => e.kind === 'exception');
    expect(exc.map((e) => e.kind === 'exception' && [e.vector, e.errorCode, e.bounced])).toEqual([[19, 0, true]]);
    expect([c.rip, c.mxcsr, [...c.xmm.subarray(4, 8)]]).toEqual([p.scratch + 0x2000n, 0x1d84, [0x3f800000, 0x3f800000, 0x3f800000, 0x3f800000]]);
    // the frame: RCX, R11, then RIP (no error code) = the divps, CS, RFLAGS, RSP, SS
    const frame = p.v.guest.read(c.getReg(4), 7 * 8)!;
    const q = new DataView(frame.buffer);
    expect([q.getBigUint64(16, true), q.getBigUint64(40, true)]).toEqual([p.entry, sp]);
    // masked again (as a handler would after looking at MXCSR): the instruction runs to the infinity
    c.mxcsr = 0x1f80;
    c.rip = p.entry;
    p.m.run(2000);
    expect(p.events.filter((e) => e.kind === 'exception')).toHaveLength(1);
    expect([c.mxcsr, c.xmm[4]]).toEqual([0x1f84, 0x7f800000]);
  });

  it('an instruction the core does not implement stops the run, named, as its last event', () => {
    // mov eax, 1; fadd st, st(1)
    const p = patched([0xb8, 1, 0, 0, 0, 0xd8, 0xc1, 0xeb, 0xfe]);
    const s = p.m.run(10_000);
    const text = `unimplemented instruction \`fadd\` (d8 c1) at d1v0 rip 0x${(p.entry + 5n).toString(16)}`;
    expect([s.stop, s.unimplemented]).toEqual(['unimplemented', text]);
    expect(p.events.at(-1)).toMatchObject({ kind: 'milestone', text });
    expect(p.v.cpu.rip).toBe(p.entry + 5n);
    // It stays stopped.
    expect(p.m.run(10_000).stop).toBe('unimplemented');
    expect(p.events.filter((e) => e.kind === 'milestone')).toHaveLength(1);
  });
});
