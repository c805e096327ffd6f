/**
 * Shifts and rotates against the host CPU: every group-2 form (C0 C1 D0 D1
 * D2 D3 x rol..sar) and shld/shrd, at every operand size, register and
 * memory destinations, counts around the masking and width boundaries, and
 * boundary values. All cases run natively in one batch; any difference from
 * the interpreter fails with the case's bytes.
 */
import { describe, expect, it } from 'vitest';
import { compareBatch } from '../oracle/compare.js';
import { DATA_BASE, DATA_SIZE, gccAvailable, runNative, type OracleCase } from '../oracle/host-cpu.js';
import { Rng } from '../oracle/rng.js';

const M64 = (1n << 64n) - 1n;
const RCX = 1;
const RDI = 7;


const SPECIAL = [0n, 1n, 2n, 0x7fn, 0x80n, 0xffn, 0x7fffn, 0x8000n, 0xffffn, 0x7fffffffn, 0x80000000n, 0xffffffffn,
  0x100000000n, 0x7fffffffffffffffn, 0x8000000000000000n, M64, M64 - 1n, 0x5555555555555555n, 0xaaaaaaaaaaaaaaaan];
const COUNTS = [0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 18, 24, 31, 32, 33, 40, 63, 64, 65, 96, 127, 128, 255] as const;

/** A value: a boundary constant, a boundary constant's neighbour, or random bits. */
function value(r: Rng): bigint {
  switch (r.below(4)) {
    case 0:
      return r.pick(SPECIAL);
    case 1:
      return (r.pick(SPECIAL) ^ (1n << BigInt(r.below(64)))) & M64;
    default:
      return r.u64();
  }
}

function count(r: Rng): number {
  return r.below(3) === 0 ? r.below(256) : r.pick(COUNTS);
}

type Form = { name: string; op: number[]; ext: number; byte: boolean; cnt: 'ib' | '1' | 'cl'; dbl?: boolean };

const GRP2 = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sal', 'sar'];
const FORMS: Form[] = [
  ...GRP2.flatMap((n, ext): Form[] => [
    { name: `${n} Eb,Ib`, op: [0xc0], ext, byte: true, cnt: 'ib' },
    { name: `${n} Ev,Ib`, op: [0xc1], ext, byte: false, cnt: 'ib' },
    { name: `${n} Eb,1`, op: [0xd0], ext, byte: true, cnt: '1' },
    { name: `${n} Ev,1`, op: [0xd1], ext, byte: false, cnt: '1' },
    { name: `${n} Eb,CL`, op: [0xd2], ext, byte: true, cnt: 'cl' },
    { name: `${n} Ev,CL`, op: [0xd3], ext, byte: false, cnt: 'cl' },
  ]),
  { name: 'shld Ev,Gv,Ib', op: [0x0f, 0xa4], ext: -1, byte: false, cnt: 'ib', dbl: true },
  { name: 'shld Ev,Gv,CL', op: [0x0f, 0xa5], ext: -1, byte: false, cnt: 'cl', dbl: true },
  { name: 'shrd Ev,Gv,Ib', op: [0x0f, 0xac], ext: -1, byte: false, cnt: 'ib', dbl: true },
  { name: 'shrd Ev,Gv,CL', op: [0x0f, 0xad], ext: -1, byte: false, cnt: 'cl', dbl: true },
];

type Case = { name: string; c: OracleCase };

/**
 * One case: `size` 1/2/4/8, `mem` a [rdi+disp8] destination (else a random
 * register, REX or not for byte forms so AH..BH also appear), `edge` puts the
 * memory operand across the end of the data region (#PF).
 */
function build(r: Rng, f: Form, size: number, mem: boolean, edge = false, fixed = -1): Case {
  const regs = Array.from({ length: 16 }, () => value(r));
  const bytes: number[] = [];
  if (size === 2) bytes.push(0x66);
  let rex = size === 8 ? 0x48 : 0;
  if (f.byte && r.below(2) === 0) rex |= 0x40;
  const reg = f.dbl ? r.below(16) : f.ext;
  const rm = r.below(16);
  if (f.dbl && reg >= 8) rex |= 0x44;
  if (!mem && rm >= 8) rex |= 0x41;
  if (rex) bytes.push(rex);
  bytes.push(...f.op);
  let disp = 0;
  if (mem) {
    disp = r.below(256);
    const off = edge ? DATA_SIZE - size + 1 : r.below(DATA_SIZE - 8);
    regs[RDI] = BigInt(DATA_BASE + off) - BigInt((disp << 24) >> 24);
    bytes.push(0x40 | ((reg & 7) << 3) | 7, disp);
  } else bytes.push(0xc0 | ((reg & 7) << 3) | (rm & 7));
  const n = fixed >= 0 ? fixed : count(r);
  if (f.cnt === 'ib') bytes.push(n);
  else if (f.cnt === 'cl') regs[RCX] = (regs[RCX]! & ~0xffn) | BigInt(n);
  const rflags = r.next() & 0xcd5 & ~0x400;
  const sz = size === 8 ? 'q' : size === 4 ? 'd' : size === 2 ? 'w' : 'b';
  const code = Uint8Array.from(bytes);
  const hex = Array.from(code, (b) => b.toString(16).padStart(2, '0')).join(' ');
  return { name: `${f.name}/${sz}${mem ? ' mem' : ''} [${hex}] count=${n}`, c: { regs, rflags, code, seed: r.next() } };
}

function allCases(): Case[] {
  const r = new Rng(0x5a17f00d);
  const out: Case[] = [];
  for (const f of FORMS) {
    const sizes = f.byte ? [1] : [2, 4, 8];
    for (const size of sizes) {
      const per = f.dbl ? 90 : f.byte ? 40 : 24;
      for (let k = 0; k < per; k++) out.push(build(r, f, size, k % 4 === 3));
      out.push(build(r, f, size, true, true));
      // counts that mask to 0 (flags kept, 32-bit registers still zero-extended), also on a faulting operand
      for (const n of [0, 32, 64, 128]) out.push(build(r, f, size, false, false, n));
      out.push(build(r, f, size, true, true, 0));
    }
  }
  return out;
}

describe.skipIf(!gccAvailable())('shift family vs host CPU', () => {
  it('group 2 and shld/shrd match the host', () => {
    const cases = allCases();
    const res = compareBatch('shift', cases);
    console.log(res.summary);
    expect(res.compared).toBe(cases.length);
    expect(res.mismatches.slice(0, 20)).toEqual([]);
  });
});
