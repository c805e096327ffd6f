/**
 * The SSE/SSE2 floating-point instructions against the host CPU, through
 * their real encodings: every arithmetic, compare and conversion form, in
 * its register and its memory form, on operands aimed at IEEE corners (the
 * FP library's own case generators, sse/cases.ts: signed zeros, denormals,
 * infinities, QNaN/SNaN payloads, ties, overflow/underflow edges, integers
 * near the conversion limits) under random MXCSR settings (every rounding
 * mode, DAZ, FTZ, unmasked exceptions so #XM happens, pre-set flags).
 * Memory operands at aligned, 4/8-aligned (#GP(0) for the packed forms
 * only), unmapped, straddling and non-canonical addresses; cmp* with every
 * imm8; comis* read back by jcc/setcc/pushf after a lazy-flags ALU op.
 * Plus what user mode cannot show on the host: CR4.OSXMMEXCPT clear turns
 * #XM into #UD, with MXCSR updated and nothing else written.
 */
import { describe, expect, it } from 'vitest';
import { BareHost } from '../bare-host.js';
import { Cpu } from '../cpu.js';
import { ExitKind, Vector } from '../fault.js';
import { compareResults, nativeUnusable } from '../oracle/compare.js';
import { emulateCase } from '../oracle/emulate.js';
import { randomFpu } from '../oracle/gen-fpu.js';
import { DATA_BASE, gccAvailable, runNative, type OracleCase } from '../oracle/host-cpu.js';
import { Rng } from '../oracle/rng.js';
import { PhysMem } from '../phys-mem.js';
import { genMxcsr, opSpecs, type OpSpec } from '../sse/cases.js';

const PER_SPEC = 60;
const SEED = 0xf1047;

type Form = { pfx: number; op: number; imm?: number; gprDst?: boolean; gprSrc?: boolean; is64?: boolean; wide?: boolean };
const ARITH: Record<string, number> = { sqrt: 0x51, add: 0x58, mul: 0x59, sub: 0x5c, min: 0x5d, div: 0x5e, max: 0x5f };
const SFX: Record<string, number> = { ps: 0, ss: 0xf3, pd: 0x66, sd: 0xf2 };
const CVT: Record<string, [number, number, boolean]> = {
  cvtss2sd: [0xf3, 0x5a, false], cvtsd2ss: [0xf2, 0x5a, false], cvtps2pd: [0, 0x5a, false], cvtpd2ps: [0x66, 0x5a, true],
  cvtdq2ps: [0, 0x5b, true], cvtps2dq: [0x66, 0x5b, true], cvttps2dq: [0xf3, 0x5b, true],
  cvtdq2pd: [0xf3, 0xe6, false], cvtpd2dq: [0xf2, 0xe6, true], cvttpd2dq: [0x66, 0xe6, true],
};

/** The encoding of an FP library op name (sse/cases.ts spec names); `wide`: an m128 operand (aligned). */
function formOf(name: string): Form {
  let m = /^(sqrt|add|mul|sub|min|div|max)(ps|ss|pd|sd)$/.exec(name);
  if (m) return { pfx: SFX[m[2]!]!, op: ARITH[m[1]!]!, wide: m[2]![0] === 'p' };
  m = /^cmp(ps|ss|pd|sd)_(\d)$/.exec(name);
  if (m) return { pfx: SFX[m[1]!]!, op: 0xc2, imm: Number(m[2]), wide: m[1]![0] === 'p' };
  m = /^(u?)comis([sd])$/.exec(name);
  if (m) return { pfx: m[2] === 'd' ? 0x66 : 0, op: m[1] ? 0x2e : 0x2f };
  m = /^cvtsi2s([sd])_([lq])$/.exec(name);
  if (m) return { pfx: m[1] === 's' ? 0xf3 : 0xf2, op: 0x2a, gprSrc: true, is64: m[2] === 'q' };
  m = /^cvt(t?)s([sd])2si_([lq])$/.exec(name);
  if (m) return { pfx: m[2] === 's' ? 0xf3 : 0xf2, op: m[1] ? 0x2c : 0x2d, gprDst: true, is64: m[3] === 'q' };
  const c = CVT[name];
  if (c === undefined) throw new Error(`no encoding for ${name}`);
  return { pfx: c[0], op: c[1], wide: c[2] };
}

const hex = (b: number[]): string => b.map((x) => x.toString(16).padStart(2, '0')).join(' ');
const big = (w: Uint32Array): bigint => (BigInt(w[3]!) << 96n) | (BigInt(w[2]!) << 64n) | (BigInt(w[1]!) << 32n) | BigInt(w[0]!);
const M64 = (1n << 64n) - 1n;

/**
 * The instruction with V = xmm1 (or G = rdx), W = xmm2 (or E = rcx) or
 * [rax]; imm8 with random reserved bits 7:3 for cmp*. With `store`, the
 * memory operand is first written from xmm15 / rcx (holding the source).
 */
function encode(f: Form, mem: boolean, store: boolean, r: Rng): number[] {
  const out: number[] = [];
  if (mem && store) out.push(...(f.gprSrc ? [0x48, 0x89, 0x08] : [0x44, 0x0f, 0x11, 0x38])); // mov [rax], rcx / movups [rax], xmm15
  if (f.pfx) out.push(f.pfx);
  if (f.is64) out.push(0x48);
  const reg = f.gprDst ? 2 : 1;
  const rm = f.gprSrc ? 1 : 2;
  out.push(0x0f, f.op, mem ? (reg << 3) : 0xc0 | (reg << 3) | rm);
  if (f.imm !== undefined) out.push(f.imm | (r.below(4) === 0 ? r.below(32) << 3 : 0));
  return out;
}

type Case = { name: string; c: OracleCase };

/** A case of `spec` as an instruction, from the library generator's operands a (V) and b (W). */
function specCase(spec: OpSpec, r: Rng, mem: boolean, at: number): Case {
  const f = formOf(spec.name);
  const a = new Uint32Array(4);
  const b = new Uint32Array(4);
  spec.gen(r, a, b);
  const fpu = randomFpu(() => r.next());
  fpu.mxcsr = genMxcsr(r);
  fpu.xmm[1] = big(a);
  fpu.xmm[2] = big(b);
  fpu.xmm[15] = big(b);
  const regs = Array.from({ length: 16 }, () => r.u64());
  regs[0] = BigInt(at);
  regs[4] = BigInt(DATA_BASE + 0x800);
  if (f.gprSrc) regs[1] = f.is64 ? (BigInt(b[1]!) << 32n) | BigInt(b[0]!) : (regs[1]! & ~0xffffffffn) | BigInt(b[0]!);
  const code = Uint8Array.from(encode(f, mem, true, r));
  return { name: `${spec.name}${mem ? ' mem' : ''} [${hex([...code])}]`, c: { regs: regs.map((v) => v & M64), rflags: r.next() & 0x8d5, code, seed: r.next(), fpu } };
}

function compareAll(cases: Case[]): { mismatches: string[]; compared: number; vectors: Map<number, number> } {
  const native = runNative(cases.map((x) => x.c));
  const mismatches: string[] = [];
  const vectors = new Map<number, number>();
  let compared = 0;
  cases.forEach(({ name, c }, k) => {
    const n = native[k]!;
    if (nativeUnusable(n)) return;
    compared++;
    if (n.fault !== null) vectors.set(n.fault.trapno, (vectors.get(n.fault.trapno) ?? 0) + 1);
    const d = compareResults(n, emulateCase(c));
    if (d !== null) mismatches.push(`${name} regs=${c.regs.map((v) => v.toString(16)).join(',')} mxcsr=${c.fpu!.mxcsr.toString(16)} xmm1=${c.fpu!.xmm[1]!.toString(16)} xmm2=${c.fpu!.xmm[2]!.toString(16)}: ${d}`);
  });
  return { mismatches, compared, vectors };
}

const SPECS = opSpecs(1);

describe.skipIf(!gccAvailable())('SSE floating point against the host CPU', () => {
  it(`every form, register and memory operand (${PER_SPEC} boundary-value cases each), #XM included`, () => {
    const r = new Rng(SEED);
    const cases: Case[] = [];
    for (const spec of SPECS) {
      for (let k = 0; k < PER_SPEC; k++) {
        cases.push(specCase(spec, r, false, DATA_BASE + 0x100));
        // memory: aligned mostly, else 4/8 off (packed: #GP(0), scalar: fine)
        const off = r.below(4) === 0 ? r.pick([4, 8, 12]) : 0;
        cases.push(specCase(spec, r, true, DATA_BASE + 0x100 + 16 * r.below(32) + off));
      }
    }
    const { mismatches, compared, vectors } = compareAll(cases);
    console.log(`sse-fp: ${SPECS.length} ops x ${2 * PER_SPEC} cases, ${compared} compared, ${mismatches.length} mismatches; faults by vector ${JSON.stringify([...vectors].sort((x, y) => x[0] - y[0]))}`);
    expect(compared).toBeGreaterThan(cases.length * 0.99);
    expect(vectors.get(Vector.XM) ?? 0).toBeGreaterThan(300);
    expect(vectors.get(Vector.GP) ?? 0).toBeGreaterThan(200);
    expect(mismatches.slice(0, 10)).toEqual([]);
  });

  it('memory operands at unmapped, straddling and non-canonical addresses, and every cmp imm8', () => {
    const r = new Rng(SEED + 1);
    const cases: Case[] = [];
    const where = [DATA_BASE - 0x1000, DATA_BASE - 4, DATA_BASE - 8, DATA_BASE + 0x1ffc, DATA_BASE + 0x1ff8, DATA_BASE + 0x1ff0, DATA_BASE + 0xff8, 0x8000000000000000, 0x0000800000000000];
    for (const spec of SPECS) {
      for (const at of where) {
        const x = specCase(spec, r, true, at);
        // no store first: the operand is what the data region holds (or nothing)
        const f = formOf(spec.name);
        x.c.code = Uint8Array.from(encode(f, true, false, r));
        cases.push(x);
      }
    }
    for (const name of ['cmpps_0', 'cmpss_0', 'cmppd_0', 'cmpsd_0']) {
      const spec = SPECS.find((s) => s.name === name)!;
      for (let imm = 0; imm < 256; imm++) {
        const x = specCase(spec, r, false, DATA_BASE);
        x.c.code[x.c.code.length - 1] = imm;
        cases.push({ name: `${name.slice(0, 5)} imm ${imm}`, c: x.c });
      }
    }
    const { mismatches, vectors } = compareAll(cases);
    expect([Vector.PF, Vector.GP].map((v) => (vectors.get(v) ?? 0) > 100)).toEqual([true, true]);
    expect(mismatches.slice(0, 10)).toEqual([]);
  });

  it('comis/ucomis flags reach jcc, setcc, cmovcc and pushf after a lazy-flags ALU op', () => {
    const r = new Rng(SEED + 2);
    // add r8, r9; (u)comis xmm1, xmm2; seta al; setae bl; setb cl; setbe dl; sete sil; setp dil;
    // setl r10b; setg r11b; setnp r12b; cmovz r13, r14; jp +3; inc r15; nop; pushfq; pop rbp
    const tail = '0f97c00f93c30f92c10f96c2400f94c6400f9ac7410f9cc2410f9fc3410f9bc44d0f44ee7a0349ffc7909c5d';
    const cases: Case[] = [];
    for (const spec of SPECS.filter((s) => /comis/.test(s.name))) {
      for (let k = 0; k < 150; k++) {
        const x = specCase(spec, r, false, DATA_BASE);
        x.c.code = Uint8Array.from(Buffer.from(`4d01c8${Buffer.from(x.c.code).toString('hex')}${tail}`, 'hex'));
        cases.push(x);
      }
    }
    const { mismatches, compared } = compareAll(cases);
    expect(compared).toBe(cases.length);
    expect(mismatches.slice(0, 10)).toEqual([]);
  });

  it('cvt with a 66 prefix beside F2/F3, REX.W on either side of it, and high GPR/XMM registers', () => {
    const r = new Rng(SEED + 3);
    const cases: Case[] = [];
    // 66 F3 (48) 0F 2A/2C/2D, F3 66 ..., REX.RB forms: cvtsi2sd xmm9, r12; cvttsd2si r11, xmm13
    const hexes = ['66f30f2ac1', '66f3480f2ac1', 'f3660f2dd2', 'f366480f2cd2', '66f20f2dd2', '66f2480f2ad1', 'f2450f2acc', 'f24d0f2cdd', 'f3490f2dd2', '66f30f5ac1', '66f20fe6c1'];
    for (const h of hexes) {
      for (let k = 0; k < 40; k++) {
        const spec = SPECS[r.below(SPECS.length)]!;
        const x = specCase(spec, r, false, DATA_BASE);
        x.c.code = Uint8Array.from(Buffer.from(h, 'hex'));
        const fl = Number(BigInt.asUintN(32, x.c.fpu!.xmm[2]!)); // a float or double as a GPR source too
        x.c.regs[1] = BigInt(fl);
        x.c.fpu!.xmm[13] = x.c.fpu!.xmm[2]!;
        cases.push({ name: h, c: x.c });
      }
    }
    const { mismatches } = compareAll(cases);
    expect(mismatches.slice(0, 10)).toEqual([]);
  });
});

describe('SSE floating point: CR4.OSXMMEXCPT and the gates', () => {
  /** Run `bytes` once from xmm1 = 1.0f lanes, xmm2 = 0.0f lanes, rdx = 0x1234; state after. */
  function run(bytes: number[], mxcsr: number, g: Partial<Pick<Cpu, 'ts' | 'em' | 'osfxsr' | 'osxmmexcpt'>> = {}) {
    const mem = new PhysMem(1 << 20);
    mem.write(0x1000, Uint8Array.from(bytes));
    const cpu = new Cpu(mem, new BareHost());
    Object.assign(cpu, g);
    cpu.rip = 0x1000n;
    cpu.mxcsr = mxcsr;
    cpu.xmm.fill(0x3f800000, 4, 8);
    cpu.setReg(2, 0x1234n);
    cpu.rflags = 0x2;
    const e = cpu.run(1);
    return { kind: e.kind, vector: e.vector, mxcsr: cpu.mxcsr, xmm1: [...cpu.xmm.subarray(4, 8)], rdx: cpu.getReg(2), flags: cpu.rflags, rip: cpu.rip };
  }
  const DIVPS = [0x0f, 0x5e, 0xca];
  const COMISS = [0x0f, 0x2f, 0xca];
  const CVTSS2SI = [0xf3, 0x48, 0x0f, 0x2d, 0xd1];

  it('an unmasked exception is #XM with OSXMMEXCPT, #UD without; either way MXCSR has the flag and nothing else changed', () => {
    // divps 1/0: ZE, unmasked (ZM clear)
    for (const [os, vector] of [[true, Vector.XM], [false, Vector.UD]] as const) {
      const s = run(DIVPS, 0x1f80 & ~0x200, { osxmmexcpt: os });
      expect([s.kind, s.vector, s.mxcsr, s.xmm1, s.rip]).toEqual([ExitKind.EXCEPTION, vector, 0x1d84, [0x3f800000, 0x3f800000, 0x3f800000, 0x3f800000], 0x1000n]);
    }
    // masked: infinity and ZE, no fault
    const m = run(DIVPS, 0x1f80, { osxmmexcpt: false });
    expect([m.kind, m.mxcsr, m.xmm1]).toEqual([ExitKind.BUDGET, 0x1f84, [0x7f800000, 0x7f800000, 0x7f800000, 0x7f800000]]);
    // comiss of a QNaN... here 1.0 vs 0.0 with DE unmasked and nothing denormal: no fault, flags 000
    expect(run(COMISS, 0x1f80 & ~0x100, { osxmmexcpt: false }).flags & 0x8d5).toBe(0);
  });

  it('a faulting cvtss2si leaves the GPR, a faulting comiss leaves EFLAGS', () => {
    // cvtss2si rdx, xmm1 after xmm1 = 2^64 (0x5f800000): IE, unmasked
    const mem = new PhysMem(1 << 20);
    mem.write(0x1000, Uint8Array.from(CVTSS2SI));
    const cpu = new Cpu(mem, new BareHost());
    cpu.rip = 0x1000n;
    cpu.xmm[4] = 0x5f800000;
    cpu.mxcsr = 0x1f80 & ~0x80;
    cpu.setReg(2, 0x1234n);
    const e = cpu.run(1);
    expect([e.vector, cpu.getReg(2), cpu.mxcsr]).toEqual([Vector.XM, 0x1234n, 0x1f01]);
    // comiss xmm1, xmm2 with xmm2 = QNaN: IE (comis signals on QNaN), unmasked
    cpu.rip = 0x1000n;
    mem.write(0x1000, Uint8Array.from(COMISS));
    cpu.xmm[8] = 0x7fc00000;
    cpu.rflags = 0x8d7;
    cpu.mxcsr = 0x1f80 & ~0x80;
    const f = cpu.run(1);
    expect([f.vector, cpu.rflags & 0x8d5, cpu.mxcsr]).toEqual([Vector.XM, 0x8d5, 0x1f01]);
  });

  it('#UD without OSFXSR or with EM, then #NM with TS, before any memory access or #XM', () => {
    for (const b of [DIVPS, COMISS, CVTSS2SI, [0x0f, 0x58, 0x00], [0x66, 0x0f, 0xc2, 0x00, 0x01], [0xf2, 0x0f, 0x5a, 0x00], [0xf3, 0x0f, 0xe6, 0x00]]) {
      expect(run(b, 0x1f80 & ~0x200, { ts: true }).vector, hex(b)).toBe(Vector.NM);
      expect(run(b, 0x1f80 & ~0x200, { ts: true, osfxsr: false }).vector, hex(b)).toBe(Vector.UD);
      expect(run(b, 0x1f80 & ~0x200, { ts: true, em: true }).vector, hex(b)).toBe(Vector.UD);
    }
  });
});
