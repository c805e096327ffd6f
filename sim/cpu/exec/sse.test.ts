/**
 * SSE/SSE2 moves, integer SIMD, shuffles and floating point against the host CPU: every
 * form from random states (all sixteen XMM registers, MXCSR with random
 * rounding modes, masks, DAZ/FTZ), memory operands aligned, misaligned
 * (#GP(0) for the aligned forms), unmapped and straddling into unmapped
 * pages (#PF), non-canonical (#GP/#SS); shift counts around the lane
 * widths; mandatory-prefix combinations. All cases of a test run natively
 * in one batch and on the interpreter; any difference fails with the bytes.
 * Plus the CR0/CR4 gates, which user mode cannot change on the host.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BareHost } from '../bare-host.js';
import { Cpu } from '../cpu.js';
import { decodeFirst } from '../disasm.js';
import { ExitKind, Vector } from '../fault.js';
import type { OpEntry } from '../optable.js';
import { compareResults, nativeUnusable } from '../oracle/compare.js';
import { emulateCase } from '../oracle/emulate.js';
import { buildCase, entryName, ORACLE_ENTRIES } from '../oracle/gen.js';
import { randomFpu, usesFpu } from '../oracle/gen-fpu.js';
import { DATA_BASE, gccAvailable, runNative, type OracleCase, type OracleResult } from '../oracle/host-cpu.js';
import { Rng } from '../oracle/rng.js';
import { PhysMem } from '../phys-mem.js';

const PER_FORM = 150;
const SEED = 0x55e2;
const words = fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 64, maxLength: 64 });

type Case = { name: string; c: OracleCase };

function compareAll(cases: Case[]): { mismatches: string[]; compared: number; native: OracleResult[] } {
  const native = runNative(cases.map((x) => x.c));
  const mismatches: string[] = [];
  let compared = 0;
  cases.forEach(({ name, c }, k) => {
    const n = native[k]!;
    if (nativeUnusable(n)) return;
    compared++;
    const d = compareResults(n, emulateCase(c));
    if (d !== null) mismatches.push(`${name} [${Buffer.from(c.code).toString('hex')}] regs=${c.regs.map((r) => r.toString(16)).join(',')} seed=${c.seed}: ${d}`);
  });
  return { mismatches, compared, native };
}

const isSse = (e: OpEntry): boolean => e.map === 1 && usesFpu(e) && e.code !== 0xae;
const SSE = ORACLE_ENTRIES.filter(isSse);
const isShiftX = (e: OpEntry): boolean => /^ps[rl]l?[awdq]$|^psra[wd]$/.test(e.mn) && e.ops === 'Vx,Wx';

/** Random-state cases of every form; shifts by an XMM count get counts near the lane widths in half of them. */
function formCases(): Case[] {
  const r = new Rng(SEED);
  return SSE.flatMap((e, k) =>
    fc.sample(words, { seed: SEED + k, numRuns: PER_FORM }).map((w) => {
      const c = buildCase(e, w);
      if (isShiftX(e) && c.fpu !== undefined && r.below(2) === 0) {
        const ins = decodeFirst(c.code);
        if (ins.rm >= 0) c.fpu.xmm[ins.rm] = (c.fpu.xmm[ins.rm]! & ~((1n << 64n) - 1n)) | BigInt(r.pick([0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 255, 256]));
      }
      return { name: entryName(e), c };
    }),
  );
}

/** A case running `hex` with every register pointing at DATA+0x100 (RSP at DATA+0x800) and a random x87/SSE state. */
function seqCase(hex: string, r: Rng, seed = 1): OracleCase {
  const regs = Array.from({ length: 16 }, (_, i) => BigInt(DATA_BASE + (i === 4 ? 0x800 : 0x100)));
  return { regs, rflags: 0, code: Uint8Array.from(Buffer.from(hex, 'hex')), seed, fpu: randomFpu(() => r.next()) };
}

/**
 * Prefix combinations: which prefix is mandatory, and what 66/F2/F3/REX/LOCK/segment/67 do around SSE opcodes.
 * Left out: combinations that are instructions on some CPUs only (F3 0F AE /6 umonitor, 66 0F AE /6 tpause).
 */
const PREFIXED = [
  '66f30f6f00', 'f3660f6f00', 'f2f30f1000', 'f3f20f1000', '66f20f1000', 'f266f30f1000', 'f20f6f00', 'f30fef00', 'f20fefc1',
  '66f30f7ec1', 'f3660f7ec1', '67660f6f00', '2e660fef00', '64660fef00', '66400fefc0', '40660fefc0', '66660fefc0', 'f0660fefc0',
  '66480f6ec8', '48660f6ec8', '66480f7ec8', 'f3480f7ec1', '66480fd6c1', '660f2800', '0f2800', 'f30f2800', '66410f28c7',
  '660fae00', 'f30fae00', '660fae10', 'f30fae10', 'f20fae18', '660faee8', 'f20faef8', '660fc300', 'f30fc300',
  '660f12c1', '660f16c1', '0f2bc1', '660fe7c1', '660ff700', '660f5000', '660fd700', '660f73c801', '660f7100', '660f71c8',
];

describe.skipIf(!gccAvailable())('SSE/SSE2 against the host CPU', () => {
  it(`every form (${PER_FORM} random cases each) matches, faults included`, () => {
    const cases = formCases();
    const { mismatches, compared, native } = compareAll(cases);
    const vectors = new Map<number, number>();
    for (const n of native) if (n.fault !== null) vectors.set(n.fault.trapno, (vectors.get(n.fault.trapno) ?? 0) + 1);
    console.log(`sse: ${SSE.length} forms, ${compared} cases compared, ${mismatches.length} mismatches; faults by vector ${JSON.stringify([...vectors].sort((a, b) => a[0] - b[0]))}`);
    expect(compared).toBeGreaterThan(cases.length * 0.98);
    // misaligned aligned forms (#GP), unmapped and straddling (#PF)
    for (const v of [Vector.GP, Vector.PF]) expect(vectors.get(v) ?? 0).toBeGreaterThan(100);
    expect(mismatches.slice(0, 15)).toEqual([]);
  });

  it('memory faults: misaligned, unmapped, straddling into an unmapped page, non-canonical, RSP/RBP-based', () => {
    const r = new Rng(11);
    // [rax] forms, then [rsp]/[rbp+0] forms (stack segment: #SS when non-canonical)
    const viaRax = ['0f2800', '0f2900', '660f6f00', 'f30f6f00', 'f30f7f00', '660fd400', '660f7000aa', 'f30f1000', 'f20f1100', '0f1600', '0f1700',
      '660fc40003', '660f6e00', '66480f7e00', 'f30f7e00', '660fd600', '0f2b00', '660fe700', '0fc300', '660f1200', '0f5400', '660fe000'];
    const viaStack = ['0f280424', '0f290424', 'f30f6f4500', '660fef0424'];
    const at = [DATA_BASE + 0x108, DATA_BASE - 0x1000, DATA_BASE - 8, DATA_BASE + 0x1ff8, DATA_BASE + 0x1ffc, DATA_BASE + 0x1ff4, DATA_BASE + 0x1ff0];
    const cases: Case[] = [];
    for (const hex of [...viaRax, ...viaStack]) {
      const reg = viaRax.includes(hex) ? 0 : hex.includes('24') ? 4 : 5;
      for (const a of [...at, 0x8000000000000000, 0x0000800000000000]) {
        const c = seqCase(hex, r);
        c.regs[reg] = BigInt(a);
        cases.push({ name: hex, c });
      }
    }
    const { mismatches, native } = compareAll(cases);
    const count = (v: number): number => native.filter((n) => n.fault?.trapno === v).length;
    expect([count(Vector.GP) > 20, count(Vector.PF) > 50, count(Vector.SS) >= 8]).toEqual([true, true, true]);
    expect(mismatches.slice(0, 15)).toEqual([]);
  });

  it('mandatory-prefix combinations select the form (or #UD) the host does', () => {
    const r = new Rng(7);
    const cases = PREFIXED.flatMap((hex) => Array.from({ length: 4 }, (_, k) => ({ name: hex, c: seqCase(hex, r, k + 1) })));
    const { mismatches, native } = compareAll(cases);
    // some of them really are #UD on the host (F2 0F 6F, 66 0F AE /0, the prefixed fences, lock, ...)
    expect(native.filter((n) => n.fault?.trapno === Vector.UD).length).toBeGreaterThan(40);
    expect(mismatches.slice(0, 15)).toEqual([]);
  });
});

describe('SSE gates (CR0.EM, CR0.TS, CR4.OSFXSR)', () => {
  /** Run `bytes` once with the given gates; the exit and the bytes at DATA. */
  function gated(bytes: number[], g: Partial<Pick<Cpu, 'ts' | 'em' | 'osfxsr' | 'mp'>>): { kind: number; vector: number } {
    const mem = new PhysMem(1 << 20);
    mem.write(0x1000, Uint8Array.from(bytes));
    const cpu = new Cpu(mem, new BareHost());
    Object.assign(cpu, g);
    cpu.rip = 0x1000n;
    cpu.setReg(0, 0x4000n);
    const e = cpu.run(1);
    return { kind: e.kind, vector: e.vector };
  }
  const NM = { kind: ExitKind.EXCEPTION, vector: Vector.NM };
  const UD = { kind: ExitKind.EXCEPTION, vector: Vector.UD };
  const OK = { kind: ExitKind.BUDGET, vector: -1 };

  it('SSE instructions: #UD without OSFXSR or with EM, else #NM with TS', () => {
    for (const b of [[0x66, 0x0f, 0xef, 0xc0], [0x0f, 0x28, 0x00], [0x66, 0x0f, 0x6e, 0xc0], [0x0f, 0xae, 0x10], [0x66, 0x0f, 0xf7, 0xc1], [0x0f, 0x58, 0xc1], [0x0f, 0x53, 0xc1]]) {
      expect(gated(b, { ts: true }), b.toString()).toEqual(NM);
      expect(gated(b, { osfxsr: false, ts: true }), b.toString()).toEqual(UD);
      expect(gated(b, { em: true, ts: true }), b.toString()).toEqual(UD);
    }
    // rcpps past its gates: unimplemented, not a fault
    expect(gated([0x0f, 0x53, 0xc1], {}).kind).toBe(ExitKind.UNIMPLEMENTED);
  });

  it('x87 and fxsave/fxrstor: #NM with TS or EM; fwait only with TS and MP; fences, prefetch, clflush, movnti never', () => {
    for (const b of [[0xdb, 0xe3], [0xd9, 0x38], [0x0f, 0xae, 0x00], [0x48, 0x0f, 0xae, 0x08], [0xd8, 0xc1]]) {
      expect(gated(b, { ts: true }), b.toString()).toEqual(NM);
      expect(gated(b, { em: true }), b.toString()).toEqual(NM);
    }
    expect(gated([0x9b], { ts: true, mp: true })).toEqual(NM);
    expect(gated([0x9b], { ts: true, mp: false })).toEqual(OK);
    expect(gated([0x9b], { em: true })).toEqual(OK);
    for (const b of [[0x0f, 0xae, 0xe8], [0x0f, 0xae, 0xf0], [0x0f, 0xae, 0xf8], [0x0f, 0x18, 0x00], [0x0f, 0xae, 0x38], [0x0f, 0xc3, 0x00], [0xf3, 0x90]]) {
      expect(gated(b, { ts: true, em: true, osfxsr: false }), b.toString()).toEqual(OK);
    }
  });
});
