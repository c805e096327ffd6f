/**
 * String instructions against the host CPU: movs cmps stos lods scas at
 * every size, without a prefix and with F3/F2, DF set or clear, 67
 * (ESI/EDI/ECX, upper halves set), FS/GS/ignored segment overrides, counts
 * from 0 to a few thousand (the rep movs/stos bulk path), overlapping
 * copies, pointers running off either end of the data region mid-way
 * (restartable state at the fault), and a rep stos over its own code.
 * All cases run natively in one batch; any difference from the interpreter
 * fails with the case's bytes. ins/outs, which the host cannot run from
 * user mode, are checked directly against the bare-metal host.
 */
import { describe, expect, it } from 'vitest';
import { BareHost } from '../bare-host.js';
import { Cpu } from '../cpu.js';
import { ExitKind, Vector } from '../fault.js';
import { PhysMem } from '../phys-mem.js';
import { compareBatch } from '../oracle/compare.js';
import { CODE_BASE, DATA_BASE, DATA_SIZE, fillData, gccAvailable, runNative, type OracleCase } from '../oracle/host-cpu.js';
import { Rng } from '../oracle/rng.js';

const M64 = (1n << 64n) - 1n;
const RAX = 0, RCX = 1, RSI = 6, RDI = 7;
const DF = 0x400;


type Case = { name: string; c: OracleCase };

type Form = { mn: string; op: number; src: boolean; dst: boolean; cmp: boolean };
const FORMS: Form[] = [
  { mn: 'movs', op: 0xa4, src: true, dst: true, cmp: false },
  { mn: 'cmps', op: 0xa6, src: true, dst: true, cmp: true },
  { mn: 'stos', op: 0xaa, src: false, dst: true, cmp: false },
  { mn: 'lods', op: 0xac, src: true, dst: false, cmp: false },
  { mn: 'scas', op: 0xae, src: false, dst: true, cmp: true },
];

/** A count: mostly small, some zero/one, some long enough for the bulk path, some with upper bits (ECX vs RCX). */
function count(r: Rng, sz: number): bigint {
  switch (r.below(8)) {
    case 0:
      return BigInt(r.below(2));
    case 1:
      return BigInt(16 + r.below(Math.floor(DATA_SIZE / sz)));
    case 2:
      return (BigInt(r.below(16)) | (BigInt(1 + r.below(0xffff)) << 32n)) & M64;
    case 3:
      return BigInt(15 + r.below(4));
    default:
      return BigInt(2 + r.below(40));
  }
}

/** A pointer offset into the data region, often near a page boundary or an end of the region. */
function spot(r: Rng, sz: number): number {
  switch (r.below(6)) {
    case 0:
      return 0x1000 - sz * r.below(6) + r.pick([0, 0, 1, 3]);
    case 1:
      return DATA_SIZE - sz * (1 + r.below(8)) + r.pick([0, 0, 2]);
    case 2:
      return sz * r.below(8) + r.pick([0, 0, 1]);
    default:
      return r.below(DATA_SIZE - sz + 1);
  }
}

function stringCase(r: Rng, f: Form, sz: number): Case {
  const regs = Array.from({ length: 16 }, () => r.u64());
  const rep = r.pick([0, 0xf3, 0xf3, 0xf2]);
  const a32 = r.below(6) === 0;
  const seg = r.below(6) === 0 ? r.pick([0x64, 0x65, 0x2e, 0x26, 0x3e]) : 0;
  const down = r.below(3) === 0;
  const n = rep ? count(r, sz) : BigInt(r.below(4));
  const src = spot(r, sz);
  let dst = spot(r, sz);
  if (f.src && f.dst && r.below(4) === 0) dst = Math.min(DATA_SIZE - sz, Math.max(0, src + r.pick([0, 1, 2, 3, 4, 7, 8, 9, -1, -4, -8, 16])));
  const junk = a32 && r.below(2) ? () => r.u64() & 0xffffffff00000000n : () => 0n;
  regs[RSI] = BigInt(DATA_BASE + src) | junk();
  regs[RDI] = BigInt(DATA_BASE + dst) | junk();
  regs[RCX] = n | (a32 && n < 0x100000000n ? junk() : 0n);
  const code = [
    ...(seg ? [seg] : []),
    ...(sz === 2 ? [0x66] : []),
    ...(a32 ? [0x67] : []),
    ...(rep ? [rep] : []),
    ...(sz === 8 ? [0x48] : []),
    f.op + (sz === 1 ? 0 : 1),
  ];
  const seed = r.next();
  if (f.mn === 'scas' && r.below(2)) {
    // An accumulator equal to an element a few steps ahead: repne stops there.
    const fill = fillData(seed);
    const at = Math.min(DATA_SIZE - sz, Math.max(0, dst + (down ? -1 : 1) * sz * r.below(6)));
    let v = 0n;
    for (let k = sz - 1; k >= 0; k--) v = (v << 8n) | BigInt(fill[at + k]!);
    regs[RAX] = (regs[RAX]! & ~((1n << BigInt(sz * 8)) - 1n) & M64) | v;
  }
  const rflags = (r.next() & 0x8d5) | (down ? DF : 0);
  const name = `${seg ? `${seg.toString(16)} ` : ''}${a32 ? 'a32 ' : ''}${rep ? `${rep.toString(16)} ` : ''}${f.mn} o${sz}${down ? ' DF' : ''}`;
  return { name, c: { regs, rflags, code: Uint8Array.from(code), seed } };
}

/**
 * cmps over equal runs: a rep movsb first copies `len` bytes from A to B,
 * then repe/repne cmps compares them (equal up to the copy's end).
 */
function equalRuns(r: Rng, out: Case[]): void {
  for (let k = 0; k < 48; k++) {
    const sz = r.pick([1, 2, 4, 8]);
    const len = 8 + r.below(200);
    const a = r.below(0x1000);
    const b = 0x1000 + r.below(0xe00);
    const regs = Array.from({ length: 16 }, () => r.u64());
    regs[RSI] = BigInt(DATA_BASE + a);
    regs[RDI] = BigInt(DATA_BASE + b);
    regs[RCX] = BigInt(len);
    // rep movsb; mov rsi, rdx; mov rdi, rbx; mov rcx, r8; repe/repne cmps
    regs[2] = BigInt(DATA_BASE + a);
    regs[3] = BigInt(DATA_BASE + b);
    regs[8] = BigInt(Math.floor(len / sz) + r.below(4) - 1);
    const rep = r.below(4) === 0 ? 0xf2 : 0xf3;
    const code = [0xf3, 0xa4, 0x48, 0x89, 0xd6, 0x48, 0x89, 0xdf, 0x4c, 0x89, 0xc1, ...(sz === 2 ? [0x66] : []), rep, ...(sz === 8 ? [0x48] : []), sz === 1 ? 0xa6 : 0xa7];
    out.push({ name: `equal run ${rep.toString(16)} cmps o${sz}`, c: { regs, rflags: r.next() & 0x8d5, code: Uint8Array.from(code), seed: r.next() } });
  }
}

/** Long rep movs/stos (bulk path): page-crossing, misaligned, overlapping in both directions, running off the end. */
function bulkCases(r: Rng, out: Case[]): void {
  for (let k = 0; k < 160; k++) {
    const sz = r.pick([1, 1, 2, 4, 8, 8]);
    const stos = r.below(3) === 0;
    const src = r.below(DATA_SIZE - 64);
    const dst = r.below(3) === 0 ? Math.max(0, Math.min(DATA_SIZE - 8, src + r.pick([1, 2, 3, 5, 8, 12, -1, -3, -8, 64, -64]))) : r.below(DATA_SIZE - 64);
    const room = Math.floor((DATA_SIZE - Math.max(src, dst)) / sz);
    const n = r.below(5) === 0 ? room + 1 + r.below(40) : 16 + r.below(Math.max(1, room - 16));
    const regs = Array.from({ length: 16 }, () => r.u64());
    regs[RSI] = BigInt(DATA_BASE + src);
    regs[RDI] = BigInt(DATA_BASE + dst);
    regs[RCX] = BigInt(n);
    const code = [...(sz === 2 ? [0x66] : []), 0xf3, ...(sz === 8 ? [0x48] : []), (stos ? 0xaa : 0xa4) + (sz === 1 ? 0 : 1)];
    out.push({ name: `bulk rep ${stos ? 'stos' : 'movs'} o${sz} n=${n}`, c: { regs, rflags: r.next() & 0x8d5, code: Uint8Array.from(code), seed: r.next() } });
  }
  // Source or destination starting unmapped / non-canonical.
  for (const [s, d] of [[DATA_BASE - 8, DATA_BASE], [DATA_BASE, DATA_BASE - 8], [DATA_BASE + DATA_SIZE, DATA_BASE], [0, 0]] as const) {
    for (const op of [0xa4, 0xa5, 0xaa]) {
      const regs = Array.from({ length: 16 }, () => 0n);
      regs[RSI] = BigInt(s);
      regs[RDI] = BigInt(d);
      regs[RCX] = 100n;
      out.push({ name: `rep ${op.toString(16)} unmapped`, c: { regs, rflags: 0, code: Uint8Array.from([0xf3, 0x48, op]), seed: 3 } });
    }
  }
  const nc = Array.from({ length: 16 }, () => 0n);
  nc[RSI] = 0x0000800000000000n;
  nc[RDI] = BigInt(DATA_BASE);
  nc[RCX] = 20n;
  out.push({ name: 'rep movsb non-canonical source', c: { regs: nc, rflags: 0, code: Uint8Array.from([0xf3, 0xa4]), seed: 3 } });
}

/** rep stosb overwriting the rest of its own block with nops: the incs after it must not run. */
function selfModifying(out: Case[]): void {
  for (const n of [4, 20, 31]) {
    const regs = Array.from({ length: 16 }, () => 0n);
    regs[RAX] = 0x90n;
    regs[RDI] = BigInt(CODE_BASE + 2);
    regs[RCX] = BigInt(n * 2);
    const code = [0xf3, 0xaa, ...Array.from({ length: n }, () => [0xff, 0xc0]).flat()]; // inc eax
    out.push({ name: `rep stosb over own code n=${n}`, c: { regs, rflags: 0, code: Uint8Array.from(code), seed: 1 } });
  }
}

/**
 * 67 with rep, upper register halves set: ECX 0, a fault in the first
 * iteration (source or destination), one iteration; and long compares that
 * fault after hundreds of iterations (the flags at the fault).
 */
function a32Matrix(out: Case[]): void {
  const J = 0xabcd000000000000n;
  const D = BigInt(DATA_BASE);
  for (const f of FORMS) {
    for (const rep of [0xf3, 0xf2]) {
      for (const sz of [1, 8]) {
        const code = Uint8Array.from([0x67, rep, ...(sz === 8 ? [0x48] : []), f.op + (sz === 8 ? 1 : 0)]);
        for (const [n, s, d] of [[0n, 0n, 0x100n], [3n, 0x1ffcn, 0x100n], [3n, 0x100n, 0x1ffcn], [1n, 0n, 0x100n]] as const) {
          const regs = Array.from({ length: 16 }, () => 0x1111n);
          regs[RCX] = J | n;
          regs[RSI] = J | (D + s);
          regs[RDI] = J | (D + d);
          out.push({ name: `a32 ${rep.toString(16)} ${f.mn} o${sz} n=${n}`, c: { regs, rflags: 0x8d5, code, seed: 9 } });
        }
      }
    }
  }
  for (const [code, fl] of [[[0xf3, 0xa6], 0x8d5], [[0xf3, 0xa6], 0], [[0xf3, 0x48, 0xa7], 0], [[0xf3, 0xac], 0], [[0xf2, 0xae], 0x8d5]] as const) {
    const regs = Array.from({ length: 16 }, () => 0x1111n);
    regs[RCX] = 1000n;
    regs[RSI] = D + 0x1f00n;
    regs[RDI] = D + 0x1f00n;
    out.push({ name: `long ${code.map((b) => b.toString(16)).join(' ')} to the end`, c: { regs, rflags: fl, code: Uint8Array.from(code), seed: 9 } });
  }
}

function allCases(): Case[] {
  const r = new Rng(0x57a1);
  const out: Case[] = [];
  for (const f of FORMS) {
    for (const sz of [1, 2, 4, 8]) {
      for (let k = 0; k < 70; k++) out.push(stringCase(r, f, sz));
    }
  }
  equalRuns(r, out);
  bulkCases(r, out);
  selfModifying(out);
  a32Matrix(out);
  return out;
}

describe.skipIf(!gccAvailable())('string instructions vs host CPU', () => {
  it('every form matches the host', () => {
    const cases = allCases();
    const res = compareBatch('string oracle', cases);
    console.log(res.summary);
    expect(res.compared).toBeGreaterThan(cases.length * 0.98);
    expect(res.mismatches.slice(0, 20)).toEqual([]);
  });
});

/** A flat (paging off) machine with `code` at 0x1000, for the port-I/O forms the host cannot run from user mode. */
function flat(code: number[]): { cpu: Cpu; mem: PhysMem; host: BareHost } {
  const mem = new PhysMem(1 << 20);
  mem.write(0x1000, Uint8Array.from(code));
  const host = new BareHost();
  const cpu = new Cpu(mem, host);
  cpu.rip = 0x1000n;
  cpu.setReg(4, 0x8000n);
  return { cpu, mem, host };
}

describe('ins / outs through the host', () => {
  it('rep outsb, outsw with DF, rep insb: port values, pointers, counts, one retirement each', () => {
    // rep outsb; std; outsw; cld; rep insb; hlt
    const { cpu, mem, host } = flat([0xf3, 0x6e, 0xfd, 0x66, 0x6f, 0xfc, 0xf3, 0x6c, 0xf4]);
    mem.write(0x2000, Uint8Array.from([0x68, 0x69, 0x21, 0x41, 0x42]));
    cpu.setReg(RSI, 0x2000n);
    cpu.setReg(RCX, 3n);
    cpu.setReg(2, 0xe9n);
    cpu.setReg(RDI, 0x3000n);
    const e = cpu.run(3);
    expect(e.kind).toBe(ExitKind.BUDGET);
    expect(host.console).toEqual([0x68, 0x69, 0x21, 0x41]); // outsw sends its low byte to the 0xE9 console
    expect(cpu.getReg(RSI)).toBe(0x2001n); // 0x2003 after outsb, minus 2 for outsw with DF
    cpu.setReg(RCX, 2n);
    cpu.setReg(2, 0x80n);
    const e2 = cpu.run(10);
    expect(e2.kind).toBe(ExitKind.HOST);
    expect(e2.retired).toBe(3);
    expect(Array.from(mem.read(0x3000, 3))).toEqual([0xff, 0xff, 0]);
    expect(cpu.getReg(RDI)).toBe(0x3002n);
    expect(cpu.getReg(RCX)).toBe(0n);
  });

  it('at CPL 3 with IOPL 0 ins faults with #GP(0) before changing anything; a zero count does nothing', () => {
    const { cpu } = flat([0xf3, 0x6c]);
    cpu.setCpl(3);
    cpu.setReg(RDI, 0x3000n);
    cpu.setReg(RCX, 5n);
    const e = cpu.run(1);
    expect(e.kind).toBe(ExitKind.EXCEPTION);
    expect(e.vector).toBe(Vector.GP);
    expect(cpu.rip).toBe(0x1000n);
    expect(cpu.getReg(RDI)).toBe(0x3000n);
    expect(cpu.getReg(RCX)).toBe(5n);
    cpu.setReg(RCX, 0n);
    expect(cpu.run(1).kind).toBe(ExitKind.BUDGET);
    expect(cpu.rip).toBe(0x1002n);
  });
});
