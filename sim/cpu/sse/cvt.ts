/**
 * Conversion lanes: binary32 <-> binary64, integer -> float, float -> integer
 * (rounded by MXCSR.RC, or truncated for the cvtt* forms).
 *
 * - float -> float: a NaN keeps its sign and the top of its payload and is
 *   quieted (IE if it was signalling); denormal sources set DE (or are zeros
 *   under DAZ); binary64 -> binary32 rounds, overflows and underflows like
 *   arithmetic.
 * - integer -> float: only PE (inexact) can happen.
 * - float -> integer: NaN, infinity, or a rounded value outside the
 *   destination give the integer indefinite (0x80000000 /
 *   0x8000000000000000) and IE (a pre-computation flag, like arithmetic IE);
 *   otherwise PE if inexact. DAZ applies, but a denormal source does not set
 *   DE (it rounds to 0 or +-1 with PE).
 */
import { bits32, f32, f64, isSNaN32, isSNaN64, put64, res } from './bits.js';
import { MX, RC, rcOf } from './mxcsr.js';
import { XE, fin32, fin64, sumErr } from './round.js';

const TWO_24 = 2 ** 24;
const TWO_31 = 2 ** 31;
const TWO_32 = 2 ** 32;
const TWO_63 = 2 ** 63;

/** cvtss2sd lane: binary32 s[si] -> binary64 in res[0..1] (exact). */
export function cvt32to64(s: Uint32Array, si: number, mx: number): number {
  const b = s[si]!;
  const ex = b & 0x7f800000;
  if (ex === 0x7f800000 && (b & 0x7fffff) !== 0) {
    res[0] = (b << 29) >>> 0;
    res[1] = (b & 0x80000000) | 0x7ff80000 | ((b & 0x3fffff) >>> 3);
    return isSNaN32(b) ? MX.IE : 0;
  }
  if (ex === 0 && (b & 0x7fffff) !== 0) {
    if ((mx & MX.DAZ) !== 0) {
      res[0] = 0;
      res[1] = b & 0x80000000;
      return 0;
    }
    put64(f32(b));
    return MX.DE;
  }
  put64(f32(b));
  return 0;
}

/** cvtsd2ss lane: binary64 s[si..si+1] -> binary32 in res[0]. */
export function cvt64to32(s: Uint32Array, si: number, mx: number): number {
  const lo = s[si]!;
  const hi = s[si + 1]!;
  const ex = hi & 0x7ff00000;
  const mant = (hi & 0xfffff) | lo;
  if (ex === 0x7ff00000) {
    if (mant === 0) {
      res[0] = (hi & 0x80000000) | 0x7f800000;
      return 0;
    }
    res[0] = (hi & 0x80000000) | 0x7fc00000 | ((hi & 0x7ffff) << 3) | (lo >>> 29);
    return isSNaN64(lo, hi) ? MX.IE : 0;
  }
  if (ex === 0) {
    if (mant === 0 || (mx & MX.DAZ) !== 0) {
      res[0] = hi & 0x80000000;
      return 0;
    }
    XE[0] = f64(lo, hi);
    XE[1] = 0;
    return fin32(MX.DE, mx);
  }
  XE[0] = f64(lo, hi);
  XE[1] = 0;
  return fin32(0, mx);
}

/** XE = the signed integer s[si] (is64 = 0) or s[si..si+1] rounded to nearest double, and its error. */
function intToXE(s: Uint32Array, si: number, is64: number): void {
  if (!is64) {
    XE[0] = s[si]! | 0;
    XE[1] = 0;
    return;
  }
  const h = (s[si + 1]! | 0) * TWO_32;
  const lo = s[si]!;
  const x = h + lo;
  XE[0] = x;
  XE[1] = sumErr(h, lo, x);
}

/** cvtsi2ss / cvtdq2ps lane: signed integer s[si] (or s[si..si+1] when is64) -> binary32 in res[0]. */
export function cvtInt32(s: Uint32Array, si: number, is64: number, mx: number): number {
  intToXE(s, si, is64);
  const x = XE[0]!;
  if (x === 0) {
    res[0] = 0;
    return 0;
  }
  if (x <= TWO_24 && x >= -TWO_24) {
    res[0] = bits32(x);
    return 0;
  }
  return fin32(0, mx);
}

/** cvtsi2sd / cvtdq2pd lane: signed integer -> binary64 in res[0..1] (inexact only from 64 bits). */
export function cvtInt64(s: Uint32Array, si: number, is64: number, mx: number): number {
  intToXE(s, si, is64);
  if (XE[1] === 0) {
    put64(XE[0]!);
    return 0;
  }
  return fin64(0, mx);
}

/** x rounded to an integer by rc (ties to even for NEAREST). */
function roundInt(x: number, rc: number): number {
  if (rc === RC.ZERO) return Math.trunc(x);
  if (rc === RC.DOWN) return Math.floor(x);
  if (rc === RC.UP) return Math.ceil(x);
  const f = Math.floor(x);
  const d = x - f;
  return d < 0.5 ? f : d > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
}

function indefinite(is64: number): number {
  res[0] = is64 ? 0 : 0x80000000;
  res[1] = is64 ? 0x80000000 : 0;
  return MX.IE;
}

/** Finite XE[0] -> integer in res (res[1] = 0 for 32 bits). */
function toInt(is64: number, trunc: number, mx: number): number {
  const x = XE[0]!;
  const r = roundInt(x, trunc ? RC.ZERO : rcOf(mx));
  if (is64 ? r < -TWO_63 || r >= TWO_63 : r < -TWO_31 || r >= TWO_31) return indefinite(is64);
  if (is64) {
    const h = Math.floor(r / TWO_32);
    res[0] = r - h * TWO_32;
    res[1] = h;
  } else {
    res[0] = r;
    res[1] = 0;
  }
  return r === x ? 0 : MX.PE;
}

/** cvtss2si / cvttss2si / cvtps2dq lane: binary32 s[si] -> integer in res. */
export function cvt32toInt(s: Uint32Array, si: number, is64: number, trunc: number, mx: number): number {
  let b = s[si]!;
  const ex = b & 0x7f800000;
  if (ex === 0x7f800000) return indefinite(is64);
  if (ex === 0 && (mx & MX.DAZ) !== 0) b = 0;
  XE[0] = f32(b);
  return toInt(is64, trunc, mx);
}

/** cvtsd2si / cvttsd2si / cvtpd2dq lane: binary64 s[si..si+1] -> integer in res. */
export function cvt64toInt(s: Uint32Array, si: number, is64: number, trunc: number, mx: number): number {
  const lo = s[si]!;
  const hi = s[si + 1]!;
  const ex = hi & 0x7ff00000;
  if (ex === 0x7ff00000) return indefinite(is64);
  XE[0] = ex === 0 && (mx & MX.DAZ) !== 0 ? 0 : f64(lo, hi);
  return toInt(is64, trunc, mx);
}

