/**
 * Bit instructions: bt bts btr btc (register offset and immediate offset),
 * bsf bsr, tzcnt lzcnt popcnt, bswap.
 *
 * Flags, as measured on the host (Intel):
 * - bt*: only CF (the selected bit) changes; the others are kept.
 * - bsf/bsr: nonzero source: PF = parity of the result's low byte, the
 *   others 0. Zero source: ZF = PF = 1, the others 0, and the destination
 *   is not written at all (a 32-bit destination keeps its upper half).
 * - tzcnt/lzcnt: CF = source was zero, ZF = result is zero, the others 0.
 * - popcnt: ZF = source was zero, the others 0.
 * - bswap with a 16-bit operand (undefined) clears the low 16 bits and keeps
 *   the rest of the register.
 */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../decode.js';
import { Vector } from '../fault.js';
import { LOP, setCF } from '../flags.js';
import { OSZ, type OpEntry } from '../optable.js';
import { rdE, rdMem, rdReg, wrE, wrReg } from '../operands.js';
import { F, STATUS_FLAGS } from '../regs.js';

/** bt-family operation, the low two bits of the opcode row / group 8 extension. */
const BtOp = { BT: 0, BTS: 1, BTR: 2, BTC: 3 } as const;

/** Replace all six status flags with `f` (no lazy record). */
function putFlags(c: Cpu, f: number): void {
  c.lop = LOP.NONE;
  c.flags = (c.flags & ~STATUS_FLAGS) | f;
}

/** PF for the low byte of v. */
function parity(v: number): number {
  let x = v & 0xff;
  x ^= x >>> 4;
  x ^= x >>> 2;
  x ^= x >>> 1;
  return x & 1 ? 0 : F.PF;
}

/**
 * The bt operation on bit `b` of the r/m operand. For memory forms the
 * address is already in c.ea. A writing form probes the store first, so a
 * fault leaves everything untouched.
 */
function bitOp(c: Cpu, i: Insn, sz: number, b: number): void {
  const op = i.sub;
  let lo: number;
  let hi = 0;
  if (i.rm >= 0) lo = rdReg(c, i.rm, sz);
  else {
    if (op !== BtOp.BT) c.mmu.probeWrite(c.eaLo, c.eaHi, sz);
    lo = rdMem(c, sz);
  }
  if (sz === 8) hi = c.hi;
  const m = 1 << (b & 31);
  const word = b >= 32 ? hi : lo;
  const cf = (word & m) !== 0;
  if (op !== BtOp.BT) {
    const nw = (op === BtOp.BTS ? word | m : op === BtOp.BTR ? word & ~m : word ^ m) >>> 0;
    if (b >= 32) hi = nw;
    else lo = nw;
    wrE(c, i, sz, lo, hi);
  }
  setCF(c, cf);
}

/**
 * bt* Ev, Gv. A memory operand is addressed by the signed bit offset:
 * EA + (offset >> log2(bits)) * size, the whole sum taken at address size
 * before the FS/GS base is added; the bit within is offset & (bits - 1).
 */
function opBtEvGv(c: Cpu, i: Insn): void {
  const sz = i.osz;
  const off = rdReg(c, i.reg, sz);
  if (i.rm < 0) {
    if (sz === 8) {
      const offH = c.hi;
      bitAddr(c, i, ((off >>> 3) | (offH << 29)) & ~7, offH >> 3);
    } else {
      const d = sz === 4 ? (off >> 5) * 4 : (((off << 16) >> 16) >> 4) * 2;
      bitAddr(c, i, d, d < 0 ? -1 : 0);
    }
  }
  bitOp(c, i, sz, off & (sz * 8 - 1));
}

/**
 * c.ea = the memory operand's address plus the byte displacement (dLo, dHi).
 * Computed here rather than by i.ea so that the non-canonical check of
 * RSP/RBP-based (stack segment, #SS) addresses applies to the final address.
 */
function bitAddr(c: Cpu, i: Insn, dLo: number, dHi: number): void {
  const r = c.r;
  let s = i.dispLo + (dLo >>> 0);
  let lo = s >>> 0;
  let hi = i.dispHi + dHi + (s > 0xffffffff ? 1 : 0);
  if (i.base >= 0) {
    s = lo + r[2 * i.base]!;
    lo = s >>> 0;
    hi += r[2 * i.base + 1]! + (s > 0xffffffff ? 1 : 0);
  }
  if (i.index >= 0) {
    let xl = r[2 * i.index]!;
    let xh = r[2 * i.index + 1]!;
    if (i.scale > 0) {
      xh = (xh << i.scale) | (xl >>> (32 - i.scale));
      xl = (xl << i.scale) >>> 0;
    }
    s = lo + xl;
    lo = s >>> 0;
    hi += xh + (s > 0xffffffff ? 1 : 0);
  }
  hi = i.asz === 4 ? 0 : hi >>> 0;
  if (i.seg >= 0) {
    s = lo + (i.seg === 4 ? c.fsLo : c.gsLo);
    lo = s >>> 0;
    hi = (hi + (i.seg === 4 ? c.fsHi : c.gsHi) + (s > 0xffffffff ? 1 : 0)) >>> 0;
  } else if (i.base === 4 || i.base === 5) {
    const t = hi >> 15;
    if (t !== 0 && t !== -1) c.raise(Vector.SS, 0);
  }
  c.eaLo = lo;
  c.eaHi = hi;
}

/** bt* Ev, Ib: the offset is masked to the operand and never moves the address. */
function opBtEvIb(c: Cpu, i: Insn): void {
  const sz = i.osz;
  if (i.rm < 0) i.ea(c, i);
  bitOp(c, i, sz, i.immLo & (sz * 8 - 1));
}

/** Index of the lowest set bit of (lo, hi), which is not zero. */
function lowBit(lo: number, hi: number): number {
  return lo !== 0 ? 31 - Math.clz32(lo & -lo) : 63 - Math.clz32(hi & -hi);
}
/** Index of the highest set bit of (lo, hi), which is not zero. */
function highBit(lo: number, hi: number): number {
  return hi !== 0 ? 63 - Math.clz32(hi) : 31 - Math.clz32(lo);
}

/** Source operand of the scan/count instructions: lo returned, hi (0 below 64 bits) in c.hi. */
function source(c: Cpu, i: Insn, sz: number): number {
  const v = rdE(c, i, sz);
  if (sz !== 8) c.hi = 0;
  return v;
}

/** bsf / bsr Gv, Ev (sub 0: forward, 1: reverse) */
function opBsfGvEv(c: Cpu, i: Insn): void {
  const sz = i.osz;
  const lo = source(c, i, sz);
  const hi = c.hi;
  if (lo === 0 && hi === 0) {
    putFlags(c, F.ZF | F.PF);
    return;
  }
  const n = i.sub === 0 ? lowBit(lo, hi) : highBit(lo, hi);
  wrReg(c, i.reg, sz, n, 0);
  putFlags(c, parity(n));
}

/** tzcnt / lzcnt Gv, Ev (F3 0F BC / BD; sub 0: trailing, 1: leading) */
function opTzcntGvEv(c: Cpu, i: Insn): void {
  const sz = i.osz;
  const lo = source(c, i, sz);
  const hi = c.hi;
  const bits = sz * 8;
  let n: number;
  if (lo === 0 && hi === 0) n = bits;
  else if (i.sub === 0) n = lowBit(lo, hi);
  else n = bits - 1 - highBit(lo, hi);
  wrReg(c, i.reg, sz, n, 0);
  putFlags(c, (n === bits ? F.CF : 0) | (n === 0 ? F.ZF : 0));
}

function popcount32(v: number): number {
  v -= (v >>> 1) & 0x55555555;
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

/** popcnt Gv, Ev (F3 0F B8) */
function opPopcntGvEv(c: Cpu, i: Insn): void {
  const sz = i.osz;
  const lo = source(c, i, sz);
  const n = popcount32(lo) + popcount32(c.hi);
  wrReg(c, i.reg, sz, n, 0);
  putFlags(c, n === 0 ? F.ZF : 0);
}

function bswap32(v: number): number {
  return ((v >>> 24) | ((v >>> 8) & 0xff00) | ((v & 0xff00) << 8) | (v << 24)) >>> 0;
}

/** bswap Zv (0F C8+r): the register id is in i.reg */
function opBswapZv(c: Cpu, i: Insn): void {
  const sz = i.osz;
  const lo = rdReg(c, i.reg, sz);
  if (sz === 8) wrReg(c, i.reg, 8, bswap32(c.hi), bswap32(lo));
  else wrReg(c, i.reg, sz, sz === 4 ? bswap32(lo) : 0, 0);
}

const BT_NAMES = ['bt', 'bts', 'btr', 'btc'] as const;

export const BITS_OPS: OpEntry[] = [
  ...BT_NAMES.flatMap((mn, op): OpEntry[] => [
    { code: 0xa3 + op * 8, map: 1, mn, ops: 'Ev,Gv', fn: opBtEvGv, sub: op, lock: op !== BtOp.BT },
    { code: 0xba, map: 1, ext: 4 + op, mn, ops: 'Ev,Ib', fn: opBtEvIb, sub: op, lock: op !== BtOp.BT },
  ]),
  { code: 0xbc, map: 1, mn: 'bsf', ops: 'Gv,Ev', fn: opBsfGvEv, sub: 0 },
  { code: 0xbd, map: 1, mn: 'bsr', ops: 'Gv,Ev', fn: opBsfGvEv, sub: 1 },
  { code: 0xbc, map: 1, pfx: 0xf3, mn: 'tzcnt', ops: 'Gv,Ev', fn: opTzcntGvEv, sub: 0 },
  { code: 0xbd, map: 1, pfx: 0xf3, mn: 'lzcnt', ops: 'Gv,Ev', fn: opTzcntGvEv, sub: 1 },
  { code: 0xb8, map: 1, pfx: 0xf3, mn: 'popcnt', ops: 'Gv,Ev', fn: opPopcntGvEv },
  { code: 0xc8, map: 1, plus: true, mn: 'bswap', ops: 'Zv', fn: opBswapZv },
];
