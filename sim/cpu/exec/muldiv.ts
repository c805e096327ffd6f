/**
 * Multiply and divide: mul/imul/div/idiv (F6/F7 /4../7), imul Gv,Ev and
 * imul Gv,Ev,imm; and the compare-and-exchange family: xadd, cmpxchg,
 * cmpxchg8b/cmpxchg16b.
 *
 * 64x64->128 products and 128/64 division are in wide.ts.
 *
 * Flags the manual leaves undefined follow the host CPU (Intel), as measured
 * by the oracle test: mul/imul set SF from the low half of the product (at
 * operand size) and PF from its low byte, clear ZF and AF; div/idiv leave
 * all flags unchanged. cmpxchg with a 32-bit register destination writes
 * only the register that changes (no zero-extension of the other one);
 * cmpxchg8b with a 66 prefix is still cmpxchg8b.
 */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../decode.js';
import { Vector } from '../fault.js';
import { LOP, materialize } from '../flags.js';
import { OSZ, type OpEntry } from '../optable.js';
import { imm, rdE, rdEw, rdMem, rdReg, wrE, wrMem, wrReg } from '../operands.js';
import { F, STATUS_FLAGS } from '../regs.js';
import { alu, AluOp } from './alu-core.js';
import { div32, divS, divU, imul32, imul64, imul64lo, mul32, mul64, QR, W } from './wide.js';

/** 1 if the byte has an even number of set bits (PF). */
const parity = (b: number): number => (0x9669 >>> ((b ^ (b >>> 4)) & 0xf)) & 1;

/** mul/imul flags: CF = OF = ovf; SF, PF from the low half (lo, hi) of the product; ZF = AF = 0. */
function mulFlags(c: Cpu, sz: number, lo: number, hi: number, ovf: boolean): void {
  const sf = sz === 8 ? hi >>> 31 : (lo >>> (sz * 8 - 1)) & 1;
  c.lop = LOP.NONE;
  c.flags = (c.flags & ~STATUS_FLAGS) | (ovf ? F.CF | F.OF : 0) | (sf ? F.SF : 0) | (parity(lo & 0xff) ? F.PF : 0);
}

const sext8 = (v: number): number => (v << 24) >> 24;
/** The high word that sign-extends a 32-bit value. */
const sxHi = (v: number): number => (v >> 31) >>> 0;
const sext16 = (v: number): number => (v << 16) >> 16;

/** mul Eb/Ev: rDX:rAX (AX for bytes) = rAX * E, unsigned. */
function opMulEv(c: Cpu, i: Insn): void {
  const sz = i.osz;
  const b = rdE(c, i, sz);
  const bH = c.hi;
  const a = rdReg(c, 0, sz);
  if (sz === 1) {
    const p = a * b;
    wrReg(c, 0, 2, p, 0);
    mulFlags(c, 1, p, 0, p > 0xff);
  } else if (sz === 2) {
    const p = a * b;
    wrReg(c, 0, 2, p, 0);
    wrReg(c, 2, 2, p >>> 16, 0);
    mulFlags(c, 2, p, 0, p > 0xffff);
  } else if (sz === 4) {
    mul32(a, b);
    wrReg(c, 0, 4, W[0]!, 0);
    wrReg(c, 2, 4, W[1]!, 0);
    mulFlags(c, 4, W[0]!, 0, W[1]! !== 0);
  } else {
    mul64(a, c.hi, b, bH);
    wrReg(c, 0, 8, W[0]!, W[1]!);
    wrReg(c, 2, 8, W[2]!, W[3]!);
    mulFlags(c, 8, W[0]!, W[1]!, (W[2]! | W[3]!) !== 0);
  }
}

/** imul Eb/Ev (one operand): rDX:rAX (AX for bytes) = rAX * E, signed. */
function opImulEv(c: Cpu, i: Insn): void {
  const sz = i.osz;
  const b = rdE(c, i, sz);
  const bH = c.hi;
  const a = rdReg(c, 0, sz);
  if (sz === 1) {
    const p = sext8(a) * sext8(b);
    wrReg(c, 0, 2, p, 0);
    mulFlags(c, 1, p, 0, p !== sext8(p));
  } else if (sz === 2) {
    const p = sext16(a) * sext16(b);
    wrReg(c, 0, 2, p, 0);
    wrReg(c, 2, 2, p >> 16, 0);
    mulFlags(c, 2, p, 0, p !== sext16(p));
  } else if (sz === 4) {
    imul32(a, b);
    wrReg(c, 0, 4, W[0]!, 0);
    wrReg(c, 2, 4, W[1]!, 0);
    mulFlags(c, 4, W[0]!, 0, W[1]! !== sxHi(W[0]!));
  } else {
    imul64(a, c.hi, b, bH);
    wrReg(c, 0, 8, W[0]!, W[1]!);
    wrReg(c, 2, 8, W[2]!, W[3]!);
    mulFlags(c, 8, W[0]!, W[1]!, W[2]! !== sxHi(W[1]!) || W[3]! !== sxHi(W[1]!));
  }
}

/** Truncated signed product for the two- and three-operand imul; lo returned, hi in c.hi. */
function imulTrunc(c: Cpu, sz: number, a: number, aH: number, b: number, bH: number): number {
  let lo: number;
  let hi = 0;
  let ovf: boolean;
  if (sz === 2) {
    const p = sext16(a) * sext16(b);
    lo = p & 0xffff;
    ovf = p !== sext16(p);
  } else if (sz === 4) {
    const p = (a | 0) * (b | 0);
    lo = Math.imul(a, b) >>> 0;
    // an inexact (huge) p cannot equal a 32-bit value
    ovf = p !== (lo | 0);
  } else if (aH === sxHi(a) && bH === sxHi(b)) {
    // both factors fit in 32 bits: the product fits in 64
    imul32(a, b);
    lo = W[0]!;
    hi = W[1]!;
    ovf = false;
  } else {
    ovf = imul64lo(a, aH, b, bH) !== 0;
    lo = W[0]!;
    hi = W[1]!;
  }
  mulFlags(c, sz, lo, hi, ovf);
  c.hi = hi;
  return lo;
}

/** imul Gv, Ev */
function opImulGvEv(c: Cpu, i: Insn): void {
  const sz = i.osz;
  const b = rdE(c, i, sz);
  const bH = c.hi;
  const a = rdReg(c, i.reg, sz);
  const r = imulTrunc(c, sz, a, c.hi, b, bH);
  wrReg(c, i.reg, sz, r, c.hi);
}

/** imul Gv, Ev, Iz / Ib (the immediate is already sign-extended by the decoder) */
function opImulGvEvIz(c: Cpu, i: Insn): void {
  const sz = i.osz;
  const a = rdE(c, i, sz);
  const aH = c.hi;
  const b = imm(c, i, sz);
  const r = imulTrunc(c, sz, a, aH, b, c.hi);
  wrReg(c, i.reg, sz, r, c.hi);
}

// ---- div / idiv: no flag changes; #DE on a zero divisor or a quotient overflow ----

/** 64-bit div/idiv: rDX:rAX / (dH:d) through `op` (divU or divS), quotient to rAX, remainder to rDX. */
function div64(c: Cpu, op: typeof divU, d: number, dH: number): void {
  const aL = rdReg(c, 0, 8);
  const aH = c.hi;
  const xL = rdReg(c, 2, 8);
  if (!op(aL, aH, xL, c.hi, d, dH)) c.raise(Vector.DE);
  wrReg(c, 0, 8, QR[0]!, QR[1]!);
  wrReg(c, 2, 8, QR[2]!, QR[3]!);
}

/** div Eb/Ev: rAX = rDX:rAX / E, rDX = remainder (AL, AH for bytes), unsigned. */
function opDivEv(c: Cpu, i: Insn): void {
  const sz = i.osz;
  const d = rdE(c, i, sz);
  const dH = c.hi;
  if (sz === 8) return div64(c, divU, d, dH);
  if (d === 0) c.raise(Vector.DE);
  const lo = rdReg(c, 0, sz);
  if (sz === 4) {
    const hi = rdReg(c, 2, 4);
    let q: number;
    let r: number;
    if (hi === 0) {
      q = Math.floor(lo / d);
      r = lo - q * d;
    } else {
      if (hi >= d) c.raise(Vector.DE);
      q = div32(hi, lo, d);
      r = QR[2]!;
    }
    wrReg(c, 0, 4, q, 0);
    wrReg(c, 2, 4, r, 0);
    return;
  }
  // 8 bits: AX / Eb; 16 bits: DX:AX / Ew
  const n = sz === 1 ? rdReg(c, 0, 2) : rdReg(c, 2, 2) * 65536 + lo;
  const q = Math.floor(n / d);
  if (q > (sz === 1 ? 0xff : 0xffff)) c.raise(Vector.DE);
  const r = n - q * d;
  if (sz === 1) wrReg(c, 0, 2, (r << 8) | q, 0);
  else {
    wrReg(c, 0, 2, q, 0);
    wrReg(c, 2, 2, r, 0);
  }
}

/** idiv Eb/Ev: signed, quotient truncated toward 0, remainder with the dividend's sign. */
function opIdivEv(c: Cpu, i: Insn): void {
  const sz = i.osz;
  const d = rdE(c, i, sz);
  const dH = c.hi;
  if (sz === 8) return div64(c, divS, d, dH);
  if (d === 0) c.raise(Vector.DE);
  if (sz === 4) {
    const lo = rdReg(c, 0, 4);
    const hi = rdReg(c, 2, 4);
    if (hi === sxHi(lo)) {
      // the dividend fits in 32 bits: exact in doubles
      const q = Math.trunc((lo | 0) / (d | 0));
      if (q === 0x80000000) c.raise(Vector.DE);
      wrReg(c, 0, 4, q >>> 0, 0);
      wrReg(c, 2, 4, ((lo | 0) - q * (d | 0)) >>> 0, 0);
    } else {
      if (!divS(lo, hi, sxHi(hi), sxHi(hi), d, sxHi(d)) || QR[1]! !== sxHi(QR[0]!)) c.raise(Vector.DE);
      wrReg(c, 0, 4, QR[0]!, 0);
      wrReg(c, 2, 4, QR[2]!, 0);
    }
    return;
  }
  const n = sz === 1 ? sext16(rdReg(c, 0, 2)) : (rdReg(c, 2, 2) << 16) | rdReg(c, 0, 2);
  const ds = sz === 1 ? sext8(d) : sext16(d);
  const q = Math.trunc(n / ds);
  const lim = sz === 1 ? 0x80 : 0x8000;
  if (q >= lim || q < -lim) c.raise(Vector.DE);
  const r = n - q * ds;
  if (sz === 1) wrReg(c, 0, 2, ((r & 0xff) << 8) | (q & 0xff), 0);
  else {
    wrReg(c, 0, 2, q, 0);
    wrReg(c, 2, 2, r, 0);
  }
}

// ---- xadd / cmpxchg ------------------------------------------------------------------

/** xadd Ev, Gv: Gv = old Ev, Ev = old Ev + Gv (flags as add); Ev written last */
function opXaddEvGv(c: Cpu, i: Insn): void {
  const sz = i.osz;
  const a = rdEw(c, i, sz);
  const aH = c.hi;
  const b = rdReg(c, i.reg, sz);
  const r = alu(c, AluOp.ADD, sz, a, aH, b, c.hi);
  const rH = c.hi;
  wrReg(c, i.reg, sz, a, aH);
  wrE(c, i, sz, r, rH);
}

/**
 * cmpxchg Ev, Gv: flags as cmp rAX, Ev. Equal: Ev = Gv (rAX untouched, not
 * even zero-extended). Unequal: rAX = Ev; a memory Ev is written back with
 * its own value, a register Ev is left alone.
 */
function opCmpxchgEvGv(c: Cpu, i: Insn): void {
  const sz = i.osz;
  const d = rdEw(c, i, sz);
  const dH = c.hi;
  const a = rdReg(c, 0, sz);
  const aH = c.hi;
  alu(c, AluOp.CMP, sz, a, aH, d, dH);
  if (a === d && (sz !== 8 || aH === dH)) {
    const s = rdReg(c, i.reg, sz);
    wrE(c, i, sz, s, c.hi);
  } else {
    if (i.rm < 0) wrMem(c, sz, d, dH);
    wrReg(c, 0, sz, d, dH);
  }
}

/**
 * cmpxchg8b Mq / cmpxchg16b Mdq (REX.W): compare rDX:rAX with the memory
 * operand; equal: store rCX:rBX, ZF = 1; unequal: the operand is written
 * back unchanged and loaded into rDX:rAX, ZF = 0. Only ZF changes.
 * cmpxchg16b needs a 16-byte aligned operand (#GP(0)).
 */
function opCmpxchg8bMq(c: Cpu, i: Insn): void {
  const r = c.r;
  let eq: boolean;
  if (i.osz !== 8) {
    const lo = rdEw(c, i, 8);
    const hi = c.hi;
    eq = lo === r[0] && hi === r[4];
    if (eq) wrMem(c, 8, r[6]!, r[2]!);
    else {
      wrMem(c, 8, lo, hi);
      wrReg(c, 0, 4, lo, 0);
      wrReg(c, 2, 4, hi, 0);
    }
  } else {
    i.ea(c, i);
    if ((c.eaLo & 15) !== 0) c.raise(Vector.GP, 0);
    c.mmu.probeWrite(c.eaLo, c.eaHi, 16);
    const aL = rdMem(c, 8);
    const aH = c.hi;
    c.eaLo += 8;
    const bL = rdMem(c, 8);
    const bH = c.hi;
    eq = aL === r[0] && aH === r[1] && bL === r[4] && bH === r[5];
    if (eq) {
      wrMem(c, 8, r[2]!, r[3]!);
      c.eaLo -= 8;
      wrMem(c, 8, r[6]!, r[7]!);
    } else {
      wrMem(c, 8, bL, bH);
      c.eaLo -= 8;
      wrMem(c, 8, aL, aH);
      wrReg(c, 0, 8, aL, aH);
      wrReg(c, 2, 8, bL, bH);
    }
  }
  materialize(c);
  c.flags = eq ? c.flags | F.ZF : c.flags & ~F.ZF;
}

const MULDIV = ['mul', 'imul', 'div', 'idiv'] as const;
const MULDIV_FNS = [opMulEv, opImulEv, opDivEv, opIdivEv] as const;

export const MULDIV_OPS: OpEntry[] = [
  ...MULDIV.flatMap((mn, k): OpEntry[] => [
    { code: 0xf6, map: 0, ext: 4 + k, mn, ops: 'Eb', fn: MULDIV_FNS[k]!, osz: OSZ.B },
    { code: 0xf7, map: 0, ext: 4 + k, mn, ops: 'Ev', fn: MULDIV_FNS[k]! },
  ]),
  { code: 0xaf, map: 1, mn: 'imul', ops: 'Gv,Ev', fn: opImulGvEv },
  { code: 0x69, map: 0, mn: 'imul', ops: 'Gv,Ev,Iz', fn: opImulGvEvIz },
  { code: 0x6b, map: 0, mn: 'imul', ops: 'Gv,Ev,Ib', fn: opImulGvEvIz },
  { code: 0xc0, map: 1, mn: 'xadd', ops: 'Eb,Gb', fn: opXaddEvGv, osz: OSZ.B, lock: true },
  { code: 0xc1, map: 1, mn: 'xadd', ops: 'Ev,Gv', fn: opXaddEvGv, lock: true },
  { code: 0xb0, map: 1, mn: 'cmpxchg', ops: 'Eb,Gb', fn: opCmpxchgEvGv, osz: OSZ.B, lock: true },
  { code: 0xb1, map: 1, mn: 'cmpxchg', ops: 'Ev,Gv', fn: opCmpxchgEvGv, lock: true },
  { code: 0xc7, map: 1, ext: 1, mod: 'mem', mn: 'cmpxchg8b', ops: 'Mq', fn: opCmpxchg8bMq, lock: true },
];
