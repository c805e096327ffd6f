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
import { fin32, fin64, sumErr } from './round.js';

const TWO_24 = 2 ** 24;
const TWO_31 = 2 ** 31;
const TWO_32 = 2 ** 32;
const TWO_63 = 2 ** 63;

/** cvtss2sd lane: binary32 b -> binary64 in res[0..1] (exact). */
export function cvt32to64(b: number, mx: number): number {
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

/** cvtsd2ss lane: binary64 (lo, hi) -> binary32 in res[0]. */
export function cvt64to32(lo: number, hi: number, mx: number): number {
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
    return fin32(f64(lo, hi), 0, MX.DE, mx);
  }
  return fin32(f64(lo, hi), 0, 0, mx);
}

/** The signed 64-bit integer (lo, hi) rounded to nearest double; the rounding error's sign in `intErr`. */
let intErr = 0;
function int64(lo: number, hi: number): number {
  const h = (hi | 0) * TWO_32;
  const s = h + lo;
  intErr = sumErr(h, lo, s);
  return s;
}

/** cvtsi2ss lane: signed integer (lo, hi when is64) -> binary32 in res[0]. */
export function cvtInt32(lo: number, hi: number, is64: number, mx: number): number {
  const x = is64 ? int64(lo, hi) : lo | 0;
  if (x === 0) {
    res[0] = 0;
    return 0;
  }
  if (!is64 && x <= TWO_24 && x >= -TWO_24) {
    res[0] = bits32(x);
    return 0;
  }
  return fin32(x, is64 ? intErr : 0, 0, mx);
}

/** cvtsi2sd lane: signed integer -> binary64 in res[0..1] (inexact only from 64 bits). */
export function cvtInt64(lo: number, hi: number, is64: number, mx: number): number {
  if (!is64) {
    put64(lo | 0);
    return 0;
  }
  const x = int64(lo, hi);
  if (x === 0) {
    res[0] = res[1] = 0;
    return 0;
  }
  return fin64(x, intErr, 0, mx);
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

/** Finite x -> integer in res (res[1] = 0 for 32 bits). */
function toInt(x: number, is64: number, trunc: number, mx: number): number {
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

/** cvtss2si / cvttss2si / cvtps2dq lane: binary32 b -> integer in res. */
export function cvt32toInt(b: number, is64: number, trunc: number, mx: number): number {
  const ex = b & 0x7f800000;
  if (ex === 0x7f800000) return indefinite(is64);
  if (ex === 0 && (mx & MX.DAZ) !== 0) b = 0;
  return toInt(f32(b), is64, trunc, mx);
}

/** cvtsd2si / cvttsd2si / cvtpd2dq lane: binary64 (lo, hi) -> integer in res. */
export function cvt64toInt(lo: number, hi: number, is64: number, trunc: number, mx: number): number {
  const ex = hi & 0x7ff00000;
  if (ex === 0x7ff00000) return indefinite(is64);
  if (ex === 0 && (mx & MX.DAZ) !== 0) return toInt(0, is64, trunc, mx);
  return toInt(f64(lo, hi), is64, trunc, mx);
}

