/**
 * Shifts and rotates: group 2 (rol ror rcl rcr shl shr sal sar, by Ib, 1 or
 * CL) and the double shifts shld/shrd.
 *
 * Counts are masked to 5 bits (6 for 64-bit operands). A masked count of 0
 * changes no flag, but the operand is still accessed and a 32-bit register
 * is still zero-extended. Flags the manual leaves undefined follow the host
 * CPU (Intel), as measured by the oracle test (shift.test.ts):
 * - shl/shr/sar/shld/shrd: AF = 0; OF for every count is computed from the
 *   source: shl/shld: top bit XOR the bit below it; shr: top bit; sar: 0;
 *   shrd: top bit of Ev XOR bit 0 of Gv.
 * - 8/16-bit shl by more than the width: CF = 0 (everything shifted out).
 * - rotates change only CF and OF. CF also when the count is a multiple of
 *   the width. OF from the source as for a count of 1 (rol: top two bits;
 *   ror: top bit XOR bit 0; rcl: top two bits; rcr: top bit XOR the
 *   incoming CF) -- except that rol/ror Ib with a register operand keep OF
 *   unless the count is 1 (the C0/C1 register form behaves differently from
 *   D0-D3 and from memory operands on this host).
 * - rcl/rcr of 8/16-bit operands rotate width+1 bits; a count that is a
 *   multiple of width+1 changes nothing, flags included.
 * - 16-bit shld/shrd with a count of 17..31 shift the 48-bit concatenation
 *   Ev:Gv:Ev (the manual says undefined; the host is consistent).
 */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../decode.js';
import { getAF, getCF, getOF, LOP, setResult, SIZE_MASK } from '../flags.js';
import { OSZ, type OpEntry } from '../optable.js';
import { rdEw, rdReg, wrE } from '../operands.js';
import { F } from '../regs.js';

const ROL = 0;
const ROR = 1;
const RCL = 2;
const RCR = 3;
const SHL = 4;
const SHR = 5;
const SAR = 7;

// ---- 64-bit helpers on (lo, hi); results in sLo/sHi (no allocation) -------

let sLo = 0;
let sHi = 0;

/** (lo, hi) << n for 0 <= n <= 64 */
function shl64(lo: number, hi: number, n: number): void {
  if (n === 0) {
    sLo = lo;
    sHi = hi;
  } else if (n < 32) {
    sHi = ((hi << n) | (lo >>> (32 - n))) >>> 0;
    sLo = (lo << n) >>> 0;
  } else if (n < 64) {
    sHi = (lo << (n - 32)) >>> 0;
    sLo = 0;
  } else {
    sHi = 0;
    sLo = 0;
  }
}

/** (lo, hi) >>> n for 0 <= n <= 64 */
function shr64(lo: number, hi: number, n: number): void {
  if (n === 0) {
    sLo = lo;
    sHi = hi;
  } else if (n < 32) {
    sLo = ((lo >>> n) | (hi << (32 - n))) >>> 0;
    sHi = hi >>> n;
  } else if (n < 64) {
    sLo = hi >>> (n - 32);
    sHi = 0;
  } else {
    sLo = 0;
    sHi = 0;
  }
}

/** Bit k (0..63) of (lo, hi). */
const bit64 = (lo: number, hi: number, k: number): number => (k < 32 ? (lo >>> k) & 1 : (hi >>> (k - 32)) & 1);

/** Count mask: 6 bits for 64-bit operands, else 5. */
const cmask = (sz: number): number => (sz === 8 ? 0x3f : 0x1f);

/**
 * A masked count of 0: no flag changes, but the operand is still accessed
 * (a memory operand can fault) and a 32-bit register is written back, which
 * zero-extends it.
 */
function countZero(c: Cpu, i: Insn, sz: number): void {
  const v = rdEw(c, i, sz);
  if (sz === 4 && i.rm >= 0) wrE(c, i, 4, v, 0);
}

// ---- shl / shr / sar --------------------------------------------------------

function shift(c: Cpu, i: Insn, op: number, n: number): void {
  const sz = i.osz;
  if (n === 0) return countZero(c, i, sz);
  const a = rdEw(c, i, sz);
  let lo: number;
  let hi = 0;
  let cf: number;
  let of: number;
  if (sz === 8) {
    const aH = c.hi;
    if (op === SHL) {
      shl64(a, aH, n);
      cf = bit64(a, aH, 64 - n);
      of = (aH >>> 31) ^ ((aH >>> 30) & 1);
    } else if (op === SHR) {
      shr64(a, aH, n);
      cf = bit64(a, aH, n - 1);
      of = aH >>> 31;
    } else {
      // arithmetic: the vacated top bits copy the sign
      if (n < 32) {
        sLo = ((a >>> n) | (aH << (32 - n))) >>> 0;
        sHi = (aH >> n) >>> 0;
      } else {
        sLo = (aH >> (n - 32)) >>> 0;
        sHi = (aH >> 31) >>> 0;
      }
      cf = bit64(a, aH, n - 1);
      of = 0;
    }
    lo = sLo;
    hi = sHi;
  } else {
    const bits = sz * 8;
    const mask = SIZE_MASK[sz]!;
    if (op === SHL) {
      lo = ((a << n) & mask) >>> 0;
      cf = n <= bits ? (a >>> (bits - n)) & 1 : 0;
      of = (a >>> (bits - 1)) ^ ((a >>> (bits - 2)) & 1);
    } else if (op === SHR) {
      lo = a >>> n;
      cf = (a >>> (n - 1)) & 1;
      of = a >>> (bits - 1);
    } else {
      const s = (a << (32 - bits)) >> (32 - bits);
      lo = ((s >> n) & mask) >>> 0;
      cf = (s >> (n - 1)) & 1;
      of = 0;
    }
  }
  wrE(c, i, sz, lo, hi);
  setResult(c, sz, lo, hi, cf !== 0, of !== 0);
}

function opShlEvIb(c: Cpu, i: Insn): void {
  shift(c, i, SHL, i.immLo & cmask(i.osz));
}
function opShlEv1(c: Cpu, i: Insn): void {
  shift(c, i, SHL, 1);
}
function opShlEvCl(c: Cpu, i: Insn): void {
  shift(c, i, SHL, c.r[2]! & cmask(i.osz));
}
function opShrEvIb(c: Cpu, i: Insn): void {
  shift(c, i, SHR, i.immLo & cmask(i.osz));
}
function opShrEv1(c: Cpu, i: Insn): void {
  shift(c, i, SHR, 1);
}
function opShrEvCl(c: Cpu, i: Insn): void {
  shift(c, i, SHR, c.r[2]! & cmask(i.osz));
}
function opSarEvIb(c: Cpu, i: Insn): void {
  shift(c, i, SAR, i.immLo & cmask(i.osz));
}
function opSarEv1(c: Cpu, i: Insn): void {
  shift(c, i, SAR, 1);
}
function opSarEvCl(c: Cpu, i: Insn): void {
  shift(c, i, SAR, c.r[2]! & cmask(i.osz));
}

// ---- rol / ror / rcl / rcr ------------------------------------------------------

/** Top bit and the bit below it of a value of size sz (hi half for 8). */
const msb = (sz: number, lo: number, hi: number): number => (sz === 8 ? hi >>> 31 : (lo >>> (sz * 8 - 1)) & 1);
const msb2 = (sz: number, lo: number, hi: number): number => (sz === 8 ? (hi >>> 30) & 1 : (lo >>> (sz * 8 - 2)) & 1);

function rotate(c: Cpu, i: Insn, op: number, n: number, ib: boolean): void {
  const sz = i.osz;
  if (n === 0) return countZero(c, i, sz);
  const a = rdEw(c, i, sz);
  const aH = sz === 8 ? c.hi : 0;
  const bits = sz * 8;
  const mask = SIZE_MASK[sz]!;
  // Rotates change CF and OF only. Rather than folding the lazy record into
  // the flags word, a record that gives ZF/SF/PF from its result becomes
  // LOP.RES (AF moved into the word), which reads back the same flags.
  const cin = getCF(c) ? F.CF : 0;
  const oldOf = getOF(c) ? F.OF : 0;
  if (c.lop !== LOP.NONE && c.lop !== LOP.RES) {
    c.flags = (c.flags & ~F.AF) | (getAF(c) ? F.AF : 0);
    c.lop = LOP.RES;
  }
  let lo = a;
  let hi = aH;
  let cf: number;
  let of: number;
  if (op === ROL || op === ROR) {
    const r = n & (bits - 1);
    if (r !== 0) {
      if (sz === 8) {
        if (op === ROL) {
          shl64(a, aH, r);
          lo = sLo;
          hi = sHi;
          shr64(a, aH, 64 - r);
        } else {
          shr64(a, aH, r);
          lo = sLo;
          hi = sHi;
          shl64(a, aH, 64 - r);
        }
        lo = (lo | sLo) >>> 0;
        hi = (hi | sHi) >>> 0;
      } else if (op === ROL) lo = (((a << r) | (a >>> (bits - r))) & mask) >>> 0;
      else lo = (((a >>> r) | (a << (bits - r))) & mask) >>> 0;
    }
    cf = op === ROL ? lo & 1 : msb(sz, lo, hi);
    // host quirk: the Ib form with a register operand keeps OF unless the count is 1
    of = ib && n !== 1 && i.rm >= 0 ? oldOf : msb(sz, a, aH) ^ (op === ROL ? msb2(sz, a, aH) : a & 1);
  } else {
    // through CF: a (bits + 1)-bit rotate, so 8/16-bit counts wrap mod 9/17
    const r = sz === 1 ? n % 9 : sz === 2 ? n % 17 : n;
    if (r === 0) return;
    {
      if (sz <= 2) {
        const v = (cin << bits) | a;
        const w = bits + 1;
        const x = (op === RCL ? (v << r) | (v >>> (w - r)) : (v >>> r) | (v << (w - r))) & ((1 << w) - 1);
        lo = x & mask;
        cf = x >>> bits;
      } else if (sz === 4) {
        if (op === RCL) {
          lo = ((a << r) | (cin << (r - 1)) | (r > 1 ? a >>> (33 - r) : 0)) >>> 0;
          cf = (a >>> (32 - r)) & 1;
        } else {
          lo = ((a >>> r) | (cin << (32 - r)) | (r > 1 ? a << (33 - r) : 0)) >>> 0;
          cf = (a >>> (r - 1)) & 1;
        }
      } else if (op === RCL) {
        shl64(a, aH, r);
        lo = sLo;
        hi = sHi;
        shr64(a, aH, 65 - r);
        lo = (lo | sLo | (r <= 32 ? cin << (r - 1) : 0)) >>> 0;
        hi = (hi | sHi | (r > 32 ? cin << (r - 33) : 0)) >>> 0;
        cf = bit64(a, aH, 64 - r);
      } else {
        shr64(a, aH, r);
        lo = sLo;
        hi = sHi;
        shl64(a, aH, 65 - r);
        lo = (lo | sLo | (r > 32 ? cin << (64 - r) : 0)) >>> 0;
        hi = (hi | sHi | (r <= 32 ? cin << (32 - r) : 0)) >>> 0;
        cf = bit64(a, aH, r - 1);
      }
    }
    of = msb(sz, a, aH) ^ (op === RCL ? msb2(sz, a, aH) : cin);
  }
  wrE(c, i, sz, lo, hi);
  c.flags = (c.flags & ~(F.CF | F.OF)) | cf | (of !== 0 ? F.OF : 0);
}

function opRotEvIb(c: Cpu, i: Insn): void {
  rotate(c, i, i.sub, i.immLo & cmask(i.osz), true);
}
function opRotEv1(c: Cpu, i: Insn): void {
  rotate(c, i, i.sub, 1, false);
}
function opRotEvCl(c: Cpu, i: Insn): void {
  rotate(c, i, i.sub, c.r[2]! & cmask(i.osz), false);
}

// ---- shld / shrd --------------------------------------------------------------

/** Double shift of Ev by n, filling from Gv (16-bit counts above 16: see the header). */
function dshift(c: Cpu, i: Insn, left: boolean, n: number): void {
  const sz = i.osz;
  if (n === 0) return countZero(c, i, sz);
  const d = rdEw(c, i, sz);
  const dH = c.hi;
  const s = rdReg(c, i.reg, sz);
  const sH = c.hi;
  let lo: number;
  let hi = 0;
  let cf: number;
  if (sz === 8) {
    if (left) {
      shl64(d, dH, n);
      lo = sLo;
      hi = sHi;
      shr64(s, sH, 64 - n);
      cf = bit64(d, dH, 64 - n);
    } else {
      shr64(d, dH, n);
      lo = sLo;
      hi = sHi;
      shl64(s, sH, 64 - n);
      cf = bit64(d, dH, n - 1);
    }
    lo = (lo | sLo) >>> 0;
    hi = (hi | sHi) >>> 0;
  } else if (sz === 4) {
    if (left) {
      lo = ((d << n) | (s >>> (32 - n))) >>> 0;
      cf = (d >>> (32 - n)) & 1;
    } else {
      lo = ((d >>> n) | (s << (32 - n))) >>> 0;
      cf = (d >>> (n - 1)) & 1;
    }
  } else if (left) {
    // X = d:s:d (48 bits); result = X bits 47-n..32-n
    const x = n <= 16 ? ((d << 16) | s) >>> 0 : ((s << 16) | d) >>> 0;
    const k = n <= 16 ? n : n - 16;
    lo = ((x << k) >>> 16) & 0xffff;
    cf = (x >>> (32 - k)) & 1;
  } else {
    // X = d:s:d (48 bits, d also at the bottom); result = X bits n+15..n
    const x = n <= 16 ? ((s << 16) | d) >>> 0 : ((d << 16) | s) >>> 0;
    const k = n <= 16 ? n : n - 16;
    lo = (x >>> k) & 0xffff;
    cf = (x >>> (k - 1)) & 1;
  }
  wrE(c, i, sz, lo, hi);
  const of = msb(sz, d, dH) ^ (left ? msb2(sz, d, dH) : s & 1);
  setResult(c, sz, lo, hi, cf !== 0, of !== 0);
}

function opShldEvGvIb(c: Cpu, i: Insn): void {
  dshift(c, i, true, i.immLo & cmask(i.osz));
}
function opShldEvGvCl(c: Cpu, i: Insn): void {
  dshift(c, i, true, c.r[2]! & cmask(i.osz));
}
function opShrdEvGvIb(c: Cpu, i: Insn): void {
  dshift(c, i, false, i.immLo & cmask(i.osz));
}
function opShrdEvGvCl(c: Cpu, i: Insn): void {
  dshift(c, i, false, c.r[2]! & cmask(i.osz));
}

const GRP2_NAMES = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sal', 'sar'] as const;
/** Handlers per ModRM.reg for the Ib, 1 and CL count forms. */
const GRP2_FNS = [
  [opRotEvIb, opRotEv1, opRotEvCl],
  [opRotEvIb, opRotEv1, opRotEvCl],
  [opRotEvIb, opRotEv1, opRotEvCl],
  [opRotEvIb, opRotEv1, opRotEvCl],
  [opShlEvIb, opShlEv1, opShlEvCl],
  [opShrEvIb, opShrEv1, opShrEvCl],
  [opShlEvIb, opShlEv1, opShlEvCl],
  [opSarEvIb, opSarEv1, opSarEvCl],
] as const;

export const SHIFT_OPS: OpEntry[] = [
  ...GRP2_NAMES.flatMap((mn, ext): OpEntry[] => {
    const [ib, one, cl] = GRP2_FNS[ext]!;
    return [
      { code: 0xc0, map: 0, ext, mn, ops: 'Eb,Ib', fn: ib, osz: OSZ.B },
      { code: 0xc1, map: 0, ext, mn, ops: 'Ev,Ib', fn: ib },
      { code: 0xd0, map: 0, ext, mn, ops: 'Eb,1', fn: one, osz: OSZ.B },
      { code: 0xd1, map: 0, ext, mn, ops: 'Ev,1', fn: one },
      { code: 0xd2, map: 0, ext, mn, ops: 'Eb,CL', fn: cl, osz: OSZ.B },
      { code: 0xd3, map: 0, ext, mn, ops: 'Ev,CL', fn: cl },
    ];
  }),
  { code: 0xa4, map: 1, mn: 'shld', ops: 'Ev,Gv,Ib', fn: opShldEvGvIb },
  { code: 0xa5, map: 1, mn: 'shld', ops: 'Ev,Gv,CL', fn: opShldEvGvCl },
  { code: 0xac, map: 1, mn: 'shrd', ops: 'Ev,Gv,Ib', fn: opShrdEvGvIb },
  { code: 0xad, map: 1, mn: 'shrd', ops: 'Ev,Gv,CL', fn: opShrdEvGvCl },
];
