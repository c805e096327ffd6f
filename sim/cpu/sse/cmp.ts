/**
 * Comparisons: the cmpps/cmppd/cmpss/cmpsd predicates (imm8 0-7) and
 * comiss/comisd/ucomiss/ucomisd.
 *
 * Exceptions per lane (SDM vol. 2 CMPPS table 3-1, COMISS, UCOMISS): IE for
 * an SNaN operand; IE for a QNaN too with the signalling predicates (LT LE
 * NLT NLE) and comis*; DE for a denormal operand when neither is a NaN and
 * DAZ is clear (DAZ compares denormals as zeros of their sign).
 */
import { f32, f64, isDen32, isDen64, isNaN32, isNaN64, isSNaN32, isSNaN64, res } from './bits.js';
import { MX } from './mxcsr.js';

/** Predicates: EQ_OQ LT_OS LE_OS UNORD_Q NEQ_UQ NLT_US NLE_US ORD_Q. */
export const CMP = { EQ: 0, LT: 1, LE: 2, UNORD: 3, NEQ: 4, NLT: 5, NLE: 6, ORD: 7 } as const;

/** Bit p set: predicate p raises IE on a QNaN operand. */
const SIGNALLING = (1 << CMP.LT) | (1 << CMP.LE) | (1 << CMP.NLT) | (1 << CMP.NLE);

/** 0: unordered, 1: a < b, 2: a = b, 3: a > b. Set by order32/order64 with their flags. */
let ord = 0;
const UNORDERED = 0;
const LESS = 1;
const EQUAL = 2;
const GREATER = 3;

function order32(a: number, b: number, qnanSignals: boolean, mx: number): number {
  if (isNaN32(a) || isNaN32(b)) {
    ord = UNORDERED;
    return isSNaN32(a) || isSNaN32(b) || qnanSignals ? MX.IE : 0;
  }
  let fl = 0;
  if (isDen32(a) || isDen32(b)) {
    if ((mx & MX.DAZ) !== 0) {
      if (isDen32(a)) a &= 0x80000000;
      if (isDen32(b)) b &= 0x80000000;
    } else fl = MX.DE;
  }
  const x = f32(a);
  const y = f32(b);
  ord = x < y ? LESS : x > y ? GREATER : EQUAL;
  return fl;
}

function order64(alo: number, ahi: number, blo: number, bhi: number, qnanSignals: boolean, mx: number): number {
  if (isNaN64(alo, ahi) || isNaN64(blo, bhi)) {
    ord = UNORDERED;
    return isSNaN64(alo, ahi) || isSNaN64(blo, bhi) || qnanSignals ? MX.IE : 0;
  }
  let fl = 0;
  if (isDen64(alo, ahi) || isDen64(blo, bhi)) {
    if ((mx & MX.DAZ) !== 0) {
      if (isDen64(alo, ahi)) {
        alo = 0;
        ahi &= 0x80000000;
      }
      if (isDen64(blo, bhi)) {
        blo = 0;
        bhi &= 0x80000000;
      }
    } else fl = MX.DE;
  }
  const x = f64(alo, ahi);
  const y = f64(blo, bhi);
  ord = x < y ? LESS : x > y ? GREATER : EQUAL;
  return fl;
}

/** Whether predicate `p` (0-7) holds for the order `ord`. */
function holds(p: number): boolean {
  switch (p) {
    case CMP.EQ:
      return ord === EQUAL;
    case CMP.LT:
      return ord === LESS;
    case CMP.LE:
      return ord === LESS || ord === EQUAL;
    case CMP.UNORD:
      return ord === UNORDERED;
    case CMP.NEQ:
      return ord !== EQUAL;
    case CMP.NLT:
      return ord !== LESS;
    case CMP.NLE:
      return ord !== LESS && ord !== EQUAL;
    default:
      return ord !== UNORDERED;
  }
}

/** cmpss lane with predicate p (imm8 & 7) on a[ai], b[bi]: res[0] = all ones if it holds, else 0. */
export function cmp32(a: Uint32Array, ai: number, b: Uint32Array, bi: number, p: number, mx: number): number {
  const fl = order32(a[ai]!, b[bi]!, ((SIGNALLING >>> p) & 1) !== 0, mx);
  res[0] = holds(p) ? 0xffffffff : 0;
  return fl;
}

/** cmpsd lane with predicate p on quadwords a[ai..ai+1], b[bi..bi+1]: res[0..1] = all ones if it holds, else 0. */
export function cmp64(a: Uint32Array, ai: number, b: Uint32Array, bi: number, p: number, mx: number): number {
  const fl = order64(a[ai]!, a[ai + 1]!, b[bi]!, b[bi + 1]!, ((SIGNALLING >>> p) & 1) !== 0, mx);
  res[0] = res[1] = holds(p) ? 0xffffffff : 0;
  return fl;
}

/** ZF PF CF as comis/ucomis set them, indexed by order; OF SF AF are cleared. */
const EFLAGS = [0x45, 0x01, 0x40, 0x00];
/** The EFLAGS bits comis/ucomis write (OF SF ZF AF PF CF). */
export const COMIS_FLAGS = 0x8d5;

/** comiss (signal = 1) / ucomiss (signal = 0): res[0] = new ZF|PF|CF (other COMIS_FLAGS bits clear). */
export function comis32(a: Uint32Array, ai: number, b: Uint32Array, bi: number, signal: number, mx: number): number {
  const fl = order32(a[ai]!, b[bi]!, signal !== 0, mx);
  res[0] = EFLAGS[ord]!;
  return fl;
}

/** comisd / ucomisd: as comis32 on quadwords. */
export function comis64(a: Uint32Array, ai: number, b: Uint32Array, bi: number, signal: number, mx: number): number {
  const fl = order64(a[ai]!, a[ai + 1]!, b[bi]!, b[bi + 1]!, signal !== 0, mx);
  res[0] = EFLAGS[ord]!;
  return fl;
}
