/**
 * Multiply, divide and compare-exchange against the host CPU: mul/imul/div/
 * idiv at every size (register and memory operands, #DE on zero divisors and
 * quotient overflow including INT_MIN / -1), the imul Gv,Ev(,imm) forms,
 * xadd, cmpxchg (equal and unequal), cmpxchg8b/16b (with misalignment).
 * All cases run natively in one batch; any difference from the interpreter
 * fails with the case's bytes. The wide-arithmetic helpers are also checked
 * against BigInt directly.
 */
import { describe, expect, it } from 'vitest';
import { compareBatch } from '../oracle/compare.js';
import { DATA_BASE, DATA_SIZE, fillData, gccAvailable, runNative, type OracleCase } from '../oracle/host-cpu.js';
import * as wide from './wide.js';
import { Rng as XorshiftRng } from '../oracle/rng.js';

const M64 = (1n << 64n) - 1n;
const RAX = 0;
const RDX = 2;
const RDI = 7;

/** The shared stream plus generators of this family. */
class Rng extends XorshiftRng {
  /** Boundary constants, their neighbours, small numbers, random bit widths. */
  value(): bigint {
    switch (this.below(5)) {
      case 0:
        return this.pick(SPECIAL);
      case 1:
        return (this.pick(SPECIAL) ^ (1n << BigInt(this.below(64)))) & M64;
      case 2:
        return BigInt(this.below(300));
      case 3:
        return this.u64() >> BigInt(this.below(64));
      default:
        return this.u64();
    }
  }
}

const SPECIAL = [0n, 1n, 2n, 3n, 0x7fn, 0x80n, 0xffn, 0x7fffn, 0x8000n, 0xffffn, 0x7fffffffn, 0x80000000n, 0xffffffffn,
  0x100000000n, 0x7fffffffffffffffn, 0x8000000000000000n, M64, M64 - 1n, 1n << 52n, (1n << 53n) + 1n];

type Case = { name: string; c: OracleCase };

/** The opcode bytes, ModRM.reg, whether the operand is byte-sized, trailing immediate bytes. */
type Shape = { op: number[]; reg: number; byte?: boolean; imm?: number[] };
type Built = { regs: bigint[]; code: number[]; seed: number; off: number; rm: number; rex: number };

/**
 * Encode `shape` at `size` (1/2/4/8) with a random register r/m operand or a
 * [rdi+disp8] memory operand at data offset `off` (past the end: #PF).
 */
function build(r: Rng, s: Shape, size: number, mem: boolean, off = -1, prefix: number[] = []): Built {
  const regs = Array.from({ length: 16 }, () => r.value());
  const code = [...prefix];
  if (size === 2) code.push(0x66);
  let rex = size === 8 ? 0x48 : 0;
  if (s.byte && r.below(2) === 0) rex |= 0x40;
  const rm = mem ? -1 : r.below(16);
  if (s.reg >= 8) rex |= 0x44;
  if (rm >= 8) rex |= 0x41;
  if (rex) code.push(rex);
  code.push(...s.op);
  if (mem) {
    const disp = r.below(256);
    if (off < 0) off = r.below(DATA_SIZE - 16);
    regs[RDI] = BigInt(DATA_BASE + off) - BigInt((disp << 24) >> 24);
    code.push(0x40 | ((s.reg & 7) << 3) | 7, disp);
  } else code.push(0xc0 | ((s.reg & 7) << 3) | (rm & 7));
  code.push(...(s.imm ?? []));
  return { regs, code, seed: r.next(), off, rm, rex };
}

function finish(r: Rng, name: string, b: Built): Case {
  const code = Uint8Array.from(b.code);
  const hex = Array.from(code, (x) => x.toString(16).padStart(2, '0')).join(' ');
  return { name: `${name} [${hex}]`, c: { regs: b.regs, rflags: r.next() & 0xcd5 & ~0x400, code, seed: b.seed } };
}

const mask = (size: number): bigint => (1n << BigInt(size * 8)) - 1n;
const sx = (v: bigint, size: number): bigint => BigInt.asIntN(size * 8, v & mask(size));

/** Little-endian value of `size` bytes of fillData(seed) at `off`. */
function memAt(seed: number, off: number, size: number): bigint {
  const d = fillData(seed);
  let v = 0n;
  for (let k = size - 1; k >= 0; k--) v = (v << 8n) | BigInt(d[off + k] ?? 0);
  return v;
}

/** The r/m operand as the handler will read it (register, AH..BH, or memory). */
function operandOf(b: Built, size: number): bigint {
  if (b.rm < 0) return memAt(b.seed, b.off, size);
  if (size === 1 && b.rex === 0 && b.rm >= 4 && b.rm < 8) return (b.regs[b.rm - 4]! >> 8n) & 0xffn;
  return b.regs[b.rm]! & mask(size);
}

/** Place the 2*size-byte dividend n in AX or rDX:rAX. */
function setDividend(b: Built, size: number, n: bigint): void {
  const m = mask(size);
  if (size === 1) b.regs[RAX] = (b.regs[RAX]! & ~0xffffn) | (n & 0xffffn);
  else {
    b.regs[RAX] = (b.regs[RAX]! & ~m) | (n & m);
    b.regs[RDX] = (b.regs[RDX]! & ~m) | ((n >> BigInt(size * 8)) & m);
  }
}

function mulDivCases(r: Rng, out: Case[]): void {
  const names = ['mul', 'imul', 'div', 'idiv'];
  for (let k = 0; k < 4; k++) {
    for (const size of [1, 2, 4, 8]) {
      const bits = BigInt(size * 8);
      const op = [size === 1 ? 0xf6 : 0xf7];
      for (let n = 0; n < 60; n++) {
        const mem = n % 3 === 2;
        const b = build(r, { op, reg: 4 + k, byte: size === 1 }, size, mem, n === 59 ? DATA_SIZE - size + 1 : -1);
        // mostly dividends whose quotient fits (unless the divisor is rAX/rDX itself)
        const hitsDividend = b.rm === RAX || b.rm === RDX || (size === 1 && b.rex === 0 && b.rm === 4);
        if (k >= 2 && n < 50 && !hitsDividend) {
          const d = operandOf(b, size);
          const lo = b.regs[RAX]! & mask(size);
          if (k === 2) setDividend(b, size, ((d === 0n ? 0n : r.value() % d) << bits) | lo);
          else if (n % 5 !== 4) setDividend(b, size, BigInt.asUintN(size * 16, sx(lo, size)));
        }
        out.push(finish(r, `${names[k]}/${size}${mem ? ' mem' : ''}`, b));
      }
      if (k === 3) {
        // quotients at and just past the signed limits: idiv bl/bx/ebx/rbx
        const min = 1n << (bits - 1n);
        for (const [nv, dv] of [[-min, -1n], [-min, 1n], [min, -1n], [min, 1n], [-min * 2n, 2n], [min * 2n, -2n], [-min * 2n - 2n, 2n], [-(min << bits), -1n]] as const) {
          const b = build(r, { op, reg: 7 }, size, false);
          b.code[b.code.length - 1] = 0xfb;
          if (b.rex & 1) b.code[b.code.length - 3] = b.rex & ~1;
          setDividend(b, size, BigInt.asUintN(size * 16, nv));
          b.regs[3] = BigInt.asUintN(64, dv);
          out.push(finish(r, `idiv ${nv}/${dv} size ${size}`, b));
        }
      }
    }
  }
}

function imulCases(r: Rng, out: Case[]): void {
  for (const size of [2, 4, 8]) {
    for (let n = 0; n < 80; n++) {
      const reg = r.below(16);
      const form = n % 3;
      const imm = form === 0 ? undefined : form === 1 ? [r.next() & 0xff] : Array.from({ length: size === 2 ? 2 : 4 }, () => r.below(256));
      const s: Shape = { op: form === 0 ? [0x0f, 0xaf] : form === 1 ? [0x6b] : [0x69], reg, imm };
      const mem = n % 4 === 3;
      out.push(finish(r, `imul ${['Gv,Ev', 'Gv,Ev,Ib', 'Gv,Ev,Iz'][form]}/${size}${mem ? ' mem' : ''}`, build(r, s, size, mem, n === 79 ? DATA_SIZE - 1 : -1)));
    }
  }
}

function xchgCases(r: Rng, out: Case[]): void {
  for (const size of [1, 2, 4, 8]) {
    for (let n = 0; n < 60; n++) {
      const reg = r.below(16);
      const mem = n % 2 === 1;
      const lock = mem && n % 4 === 1 ? [0xf0] : [];
      const edge = n === 59 ? DATA_SIZE - size + 1 : -1;
      const xa: Shape = { op: [0x0f, size === 1 ? 0xc0 : 0xc1], reg, byte: size === 1 };
      out.push(finish(r, `xadd/${size}${mem ? ' mem' : ''}`, build(r, xa, size, mem, edge, lock)));
      const cx: Shape = { op: [0x0f, size === 1 ? 0xb0 : 0xb1], reg, byte: size === 1 };
      const b = build(r, cx, size, mem, edge, lock);
      if (n % 3 !== 2 && edge < 0) {
        // make the comparison succeed
        const v = operandOf(b, size);
        b.regs[RAX] = (b.regs[RAX]! & ~mask(size)) | v;
      }
      out.push(finish(r, `cmpxchg/${size}${mem ? ' mem' : ''}`, b));
    }
  }
  // cmpxchg8b / cmpxchg16b
  for (const w of [false, true]) {
    for (let n = 0; n < 80; n++) {
      const size = w ? 16 : 8;
      const prefix = n % 4 === 1 ? [0xf0] : [];
      const misaligned = w && n % 10 === 9;
      let off = (r.below(DATA_SIZE / 16 - 1) * 16) + (misaligned ? 8 : w ? 0 : r.below(16));
      if (n === 79) off = DATA_SIZE - 8;
      const b = build(r, { op: [0x0f, 0xc7], reg: 1 }, w ? 8 : n % 7 === 6 ? 2 : 4, true, off, prefix);
      if (n % 3 !== 2) {
        b.regs[RAX] = memAt(b.seed, off, w ? 8 : 4);
        b.regs[RDX] = memAt(b.seed, off + (w ? 8 : 4), w ? 8 : 4);
        if (n % 3 === 1) b.regs[RDX] = (b.regs[RDX]! | (r.u64() << 32n)) & M64;
      }
      out.push(finish(r, `cmpxchg${size}b${misaligned ? ' misaligned' : ''}`, b));
    }
  }
}

describe('wide arithmetic helpers', () => {
  it('mul64/imul64 and divU/divS agree with BigInt', () => {
    const r = new Rng(0x1234567);
    const w = (): bigint => (BigInt(wide.W[3]!) << 96n) | (BigInt(wide.W[2]!) << 64n) | (BigInt(wide.W[1]!) << 32n) | BigInt(wide.W[0]!);
    const lo = (v: bigint): number => Number(v & 0xffffffffn);
    const hi = (v: bigint): number => Number((v >> 32n) & 0xffffffffn);
    for (let k = 0; k < 20000; k++) {
      const a = r.value();
      const b = r.value();
      wide.mul64(lo(a), hi(a), lo(b), hi(b));
      expect(w()).toBe(a * b);
      wide.imul64(lo(a), hi(a), lo(b), hi(b));
      expect(w()).toBe(BigInt.asUintN(128, BigInt.asIntN(64, a) * BigInt.asIntN(64, b)));
      const nh = k % 3 === 0 ? 0n : b === 0n ? r.value() : r.value() % b;
      const n = (nh << 64n) | r.value();
      const okU = wide.divU(lo(n), hi(n), lo(n >> 64n), hi(n >> 64n), lo(b), hi(b));
      expect(okU).toBe(b !== 0n && n / b <= M64);
      if (okU) {
        expect((BigInt(wide.QR[1]!) << 32n) | BigInt(wide.QR[0]!)).toBe(n / b);
        expect((BigInt(wide.QR[3]!) << 32n) | BigInt(wide.QR[2]!)).toBe(n % b);
      }
      // signed: either the 128-bit pattern, or a sign-extended 64-bit dividend (as after cqo)
      const ns = k % 2 ? BigInt.asIntN(128, n) : BigInt.asIntN(64, n);
      const bs = BigInt.asIntN(64, b);
      const okS = wide.divS(lo(ns), hi(ns), lo(ns >> 64n), hi(ns >> 64n), lo(b), hi(b));
      const q = bs === 0n ? 0n : ns / bs;
      expect(okS).toBe(bs !== 0n && q >= -(1n << 63n) && q < 1n << 63n);
      if (okS) {
        expect(BigInt.asIntN(64, (BigInt(wide.QR[1]!) << 32n) | BigInt(wide.QR[0]!))).toBe(q);
        expect(BigInt.asIntN(64, (BigInt(wide.QR[3]!) << 32n) | BigInt(wide.QR[2]!))).toBe(ns % bs);
      }
    }
  });
});

describe.skipIf(!gccAvailable())('muldiv family vs host CPU', () => {
  it('mul/imul/div/idiv, xadd, cmpxchg, cmpxchg8b/16b match the host', () => {
    const r = new Rng(0xd1f1de);
    const cases: Case[] = [];
    mulDivCases(r, cases);
    imulCases(r, cases);
    xchgCases(r, cases);
    const res = compareBatch('muldiv', cases);
    console.log(res.summary);
    expect(res.compared).toBe(cases.length);
    expect(res.mismatches.slice(0, 20)).toEqual([]);
  });
});
