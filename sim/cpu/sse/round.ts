/**
 * Rounding an exact result to binary32 / binary64 under MXCSR: RC, FTZ,
 * the OE/UE/PE flags and their masked responses.
 *
 * Every arithmetic result reaches here as a double `x` that is the exact
 * result rounded to nearest in binary64, plus `e`, whose sign alone says
 * where the exact value lies (exact = x + tiny e; e = 0 iff x is exact),
 * and, for results a double cannot hold, a power-of-two scale. x and e are
 * passed in XE, not as arguments: doubles (and uint32 words >= 2^30) given
 * to a call V8 does not inline are boxed, an allocation per operation.
 *
 * x86 rules implemented (SDM vol. 1, 4.9.1.4-4.9.1.6 and 11.5.2; measured on
 * the host by sse.test.ts):
 * - overflow: rounded result (unbounded exponent) above the largest finite.
 *   Masked: OE|PE and infinity or the largest finite by RC. Unmasked: OE,
 *   and PE if rounding to the destination precision was inexact.
 * - tininess is detected after rounding (unbounded exponent, RC applied).
 *   Unmasked UE: UE whether exact or not, and PE if rounding (unbounded
 *   exponent) was inexact. Masked with FTZ: a signed
 *   zero and UE|PE, even for an exact tiny result. Masked without FTZ: the
 *   result is re-rounded at the denormal position and UE|PE are set only
 *   if that loses bits.
 * - PE for any other inexact result.
 */
import { F64, W64, bits32, res } from './bits.js';
import { MX, RC, rcOf } from './mxcsr.js';

const TWO_M1021 = 2 ** -1021;
const TWO_M125 = 2 ** -125;
const TWO_127 = 2 ** 127;
const TWO_1023 = 2 ** 1023;

export const SINGLE = 0;
export const DOUBLE = 1;

/** 2^i for i in [-1100, 1100]: P2[i + 1100]. */
const P2 = new Float64Array(2201);
for (let i = 0; i < 2201; i++) P2[i] = 2 ** (i - 1100);
const pow2 = (i: number): number => P2[i + 1100]!;

const SPLIT = 134217729; // 2^27 + 1, Veltkamp splitting constant

/** Rounding error of p = RN(a * b) (Dekker's TwoProduct, exact when no under/overflow). */
export function prodErr(a: number, b: number, p: number): number {
  let t = SPLIT * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLIT * b;
  const bh = t - (t - b);
  const bl = b - bh;
  return ah * bh - p + ah * bl + al * bh + al * bl;
}

/** Rounding error of s = RN(a + b) (Knuth's TwoSum, exact unless s overflowed). */
export function sumErr(a: number, b: number, s: number): number {
  const bb = s - a;
  return a - (s - bb) + (b - bb);
}

/** x and e of the value to finish: XE[0] = x, XE[1] = e. */
export const XE = new Float64Array(2);

// The exact value being rounded: (-1)^sgn * (nh * 2^32 + nl) * 2^qe, and when
// stk is 1 strictly between that and the next multiple of 2^qe.
let sgn = 0;
let nh = 0;
let nl = 0;
let stk = 0;
let qe = 0;

/** Sets the value to round to (x + e) * 2^s, (x, e) from XE, x finite and non-zero. */
export function setExact(s: number): void {
  const x = XE[0]!;
  const e = XE[1]!;
  F64[0] = x;
  const lo = W64[0]!;
  const hi = W64[1]!;
  sgn = hi >>> 31;
  const be = (hi >>> 20) & 0x7ff;
  let mh = hi & 0xfffff;
  let lsb = -1074;
  if (be !== 0) {
    mh |= 0x100000;
    lsb = be - 1075;
  }
  if (e === 0) {
    nh = mh;
    nl = lo;
    stk = 0;
    qe = lsb + s;
    return;
  }
  // In quarter-ulps of x: (4M, 4M+1) if e points away from zero, else
  // (4M-1, 4M). Quarters, not halves: below a power of two the binade is
  // twice as fine, and the true value is within a quarter-ulp of x there.
  nh = (mh << 2) | (lo >>> 30);
  nl = (lo << 2) >>> 0;
  if (e < 0 !== (sgn === 1)) {
    if (nl === 0) {
      nh -= 1;
      nl = 0xffffffff;
    } else nl -= 1;
  }
  stk = 1;
  qe = lsb - 2 + s;
}

let inexact = 0;

/** The value's magnitude with its lowest k bits rounded off by rc; sets `inexact`. */
function dropBits(k: number, rc: number): number {
  if (k <= 0) {
    inexact = 0;
    return (nh * 4294967296 + nl) * pow2(-k);
  }
  let kept: number;
  let r: number;
  let rest: number;
  if (k < 32) {
    kept = nh * pow2(32 - k) + (nl >>> k);
    r = (nl >>> (k - 1)) & 1;
    rest = (nl & ((1 << (k - 1)) - 1)) | stk;
  } else if (k === 32) {
    kept = nh;
    r = nl >>> 31;
    rest = (nl & 0x7fffffff) | stk;
  } else if (k < 64) {
    const j = k - 32;
    kept = nh >>> j;
    r = (nh >>> (j - 1)) & 1;
    rest = (nh & ((1 << (j - 1)) - 1)) | nl | stk;
  } else {
    kept = 0;
    r = k === 64 ? nh >>> 31 : 0;
    rest = k === 64 ? (nh & 0x7fffffff) | nl | stk : 1;
  }
  inexact = r | (rest !== 0 ? 1 : 0);
  if (inexact !== 0) {
    if (rc === RC.NEAREST) {
      if (r !== 0 && (rest !== 0 || kept % 2 === 1)) kept += 1;
    } else if (rc === (sgn ? RC.DOWN : RC.UP)) kept += 1;
  }
  return kept;
}

/** Writes the encoding with biased exponent field `be` plus `frac` (a carry out of frac bumps be). */
function packBits(fmt: number, be: number, frac: number): void {
  if (fmt === SINGLE) {
    res[0] = (sgn << 31) | ((be << 23) + frac);
    return;
  }
  const fh = Math.floor(frac / 4294967296);
  res[0] = frac - fh * 4294967296;
  res[1] = (sgn << 31) | ((be << 20) + fh);
}

/** Rounds the value set by setExact to `fmt`; returns fl | the flags raised; result in res. */
export function roundPack(fmt: number, fl: number, mx: number): number {
  const p = fmt === SINGLE ? 24 : 53;
  const emin = fmt === SINGLE ? -126 : -1022;
  const emax = fmt === SINGLE ? 127 : 1023;
  const rc = rcOf(mx);
  const lead = nh !== 0 ? 63 - Math.clz32(nh) : 31 - Math.clz32(nl);
  const e0 = qe + lead;
  const k = lead + 1 - p;
  let sig = dropBits(k, rc);
  let e = e0;
  if (sig === pow2(p)) {
    sig = pow2(p - 1);
    e += 1;
  }
  if (e > emax) {
    if ((mx & MX.OM) === 0) return fl | MX.OE | (inexact ? MX.PE : 0);
    const toInf = rc === RC.NEAREST || rc === (sgn ? RC.DOWN : RC.UP);
    if (fmt === SINGLE) res[0] = (sgn << 31) | (toInf ? 0x7f800000 : 0x7f7fffff);
    else {
      res[0] = toInf ? 0 : 0xffffffff;
      res[1] = (sgn << 31) | (toInf ? 0x7ff00000 : 0x7fefffff);
    }
    return fl | MX.OE | MX.PE;
  }
  if (e < emin) {
    if ((mx & MX.UM) === 0) return fl | MX.UE | (inexact ? MX.PE : 0);
    if ((mx & MX.FZ) !== 0) {
      packBits(fmt, 0, 0);
      return fl | MX.UE | MX.PE;
    }
    // Re-round at the denormal position; a carry into the exponent field
    // yields the smallest normal, which this encoding gives for free.
    packBits(fmt, 0, dropBits(k + emin - e0, rc));
    return inexact ? fl | MX.UE | MX.PE : fl;
  }
  packBits(fmt, e - emin + 1, sig - pow2(p - 1));
  return inexact ? fl | MX.PE : fl;
}

/**
 * Rounds XE's x (+ e) to binary64; x finite non-zero and no scale. Fast
 * path: results well inside the normal range only need RC applied.
 */
export function fin64(fl: number, mx: number): number {
  const x = XE[0]!;
  const e = XE[1]!;
  const ax = x < 0 ? -x : x;
  if (ax >= TWO_M1021 && ax < TWO_1023) {
    F64[0] = x;
    let lo = W64[0]!;
    let hi = W64[1]!;
    if (e !== 0) {
      fl |= MX.PE;
      const rc = rcOf(mx);
      if (rc !== RC.NEAREST && (rc === RC.UP ? e > 0 : rc === RC.DOWN ? e < 0 : e > 0 !== x > 0)) {
        if (e > 0 === x > 0) {
          lo = (lo + 1) >>> 0;
          if (lo === 0) hi += 1;
        } else if (lo === 0) {
          hi -= 1;
          lo = 0xffffffff;
        } else lo -= 1;
      }
    }
    res[0] = lo;
    res[1] = hi;
    return fl;
  }
  setExact(0);
  return roundPack(DOUBLE, fl, mx);
}

/**
 * Rounds XE's x (+ e) to binary32; x finite non-zero, and x = RN64(exact)
 * so that e only matters at binary32 midpoints and for directed rounding.
 */
export function fin32(fl: number, mx: number): number {
  const x = XE[0]!;
  const e = XE[1]!;
  const ax = x < 0 ? -x : x;
  if (ax >= TWO_M125 && ax < TWO_127) {
    const t = Math.fround(x);
    if (e === 0 && t === x) {
      res[0] = bits32(t);
      return fl;
    }
    let tb = bits32(t);
    const d = x - t;
    const rc = rcOf(mx);
    if (rc === RC.NEAREST) {
      // x exactly halfway between two binary32: e breaks the tie fround made.
      if (e !== 0 && d !== 0 && e > 0 === d > 0) {
        F64[0] = x;
        if ((W64[0]! & 0x1fffffff) === 0x10000000) tb += d > 0 === t > 0 ? 1 : -1;
      }
    } else {
      const dir = d !== 0 ? d : e;
      if (rc === RC.UP ? dir > 0 : rc === RC.DOWN ? dir < 0 : dir > 0 !== t > 0) tb += dir > 0 === t > 0 ? 1 : -1;
    }
    res[0] = tb;
    return fl | MX.PE;
  }
  setExact(0);
  return roundPack(SINGLE, fl, mx);
}

/** Writes a signed zero of `fmt` to res. */
export function zero(fmt: number, neg: number): void {
  if (fmt === SINGLE) res[0] = neg << 31;
  else {
    res[0] = 0;
    res[1] = neg << 31;
  }
}
