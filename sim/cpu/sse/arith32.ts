/**
 * binary32 lanes of add/sub/mul/div/min/max/sqrt (addss, addps, ...), with
 * the same pre-computation rules as arith64.ts. An operand is the dword
 * a[ai]; each returns its flags and leaves the result in res[0].
 *
 * The computation runs in binary64, which holds every binary32 operand, the
 * exact product, and the sum/quotient/root rounded to nearest plus the sign
 * of its error (TwoSum, remainders); fin32 rounds that to binary32.
 */
import { QNAN32, f32, isDen32, isNaN32, isSNaN32, res, special32 } from './bits.js';
import { MX, RC, rcOf } from './mxcsr.js';
import { SINGLE, XE, fin32, prodErr, sumErr, zero } from './round.js';

/** Result for a NaN operand: the first NaN, quieted; IE if either is signalling. */
function nan2(a: number, b: number): number {
  res[0] = (isNaN32(a) ? a : b) | 0x400000;
  return isSNaN32(a) || isSNaN32(b) ? MX.IE : 0;
}

function invalid(): number {
  res[0] = QNAN32;
  return MX.IE;
}

const ZERO = 0;
const FINITE = 1;
const INF = 2;
let den = 0;

/** Class of a non-NaN operand after DAZ; sets `den` when it is a denormal kept as such. */
function cls(b: number, mx: number): number {
  const ex = b & 0x7f800000;
  if (ex === 0x7f800000) return INF;
  if (ex !== 0) return FINITE;
  if ((b & 0x7fffff) === 0 || (mx & MX.DAZ) !== 0) return ZERO;
  den = MX.DE;
  return FINITE;
}

/** x + y for binary32 values, not both zero. */
function addCore(x: number, y: number, fl: number, mx: number): number {
  const s = x + y;
  if (s === 0) {
    zero(SINGLE, rcOf(mx) === RC.DOWN ? 1 : 0);
    return fl;
  }
  XE[0] = s;
  XE[1] = sumErr(x, y, s);
  return fin32(fl, mx);
}

function addSlow(a: number, b: number, mx: number): number {
  if (isNaN32(a) || isNaN32(b)) return nan2(a, b);
  den = 0;
  const ca = cls(a, mx);
  const cb = cls(b, mx);
  if (ca === INF || cb === INF) {
    if (ca === INF && cb === INF && (a ^ b) >>> 31 !== 0) return invalid();
    res[0] = (ca === INF ? a : b) & 0xff800000;
    return den;
  }
  if (ca === ZERO && cb === ZERO) {
    zero(SINGLE, rcOf(mx) === RC.DOWN ? (a | b) >>> 31 : (a & b) >>> 31);
    return 0;
  }
  return addCore(ca === ZERO ? 0 : f32(a), cb === ZERO ? 0 : f32(b), den, mx);
}

/** a + b, or a - b when neg = 0x80000000 (a NaN b keeps its own sign). */
function addLane(a: number, b: number, neg: number, mx: number): number {
  if (special32(a) || special32(b)) {
    if (neg !== 0 && isNaN32(b)) return nan2(a, b);
    return addSlow(a, (b ^ neg) >>> 0, mx);
  }
  return addCore(f32(a), f32((b ^ neg) >>> 0), 0, mx);
}

/** addss lane: a + b. */
export function add32(a: Uint32Array, ai: number, b: Uint32Array, bi: number, mx: number): number {
  return addLane(a[ai]!, b[bi]!, 0, mx);
}

/** subss lane: a - b. */
export function sub32(a: Uint32Array, ai: number, b: Uint32Array, bi: number, mx: number): number {
  return addLane(a[ai]!, b[bi]!, 0x80000000, mx);
}

function mulSlow(a: number, b: number, mx: number): number {
  if (isNaN32(a) || isNaN32(b)) return nan2(a, b);
  den = 0;
  const ca = cls(a, mx);
  const cb = cls(b, mx);
  const neg = (a ^ b) >>> 31;
  if (ca === INF || cb === INF) {
    if (ca === ZERO || cb === ZERO) return invalid();
    res[0] = (neg << 31) | 0x7f800000;
    return den;
  }
  if (ca === ZERO || cb === ZERO) {
    zero(SINGLE, neg);
    return den;
  }
  XE[0] = f32(a) * f32(b);
  XE[1] = 0;
  return fin32(den, mx);
}

/** mulss lane: a * b (exact in binary64, so e = 0). */
export function mul32(a: Uint32Array, ai: number, b: Uint32Array, bi: number, mx: number): number {
  const x = a[ai]!;
  const y = b[bi]!;
  if (special32(x) || special32(y)) return mulSlow(x, y, mx);
  XE[0] = f32(x) * f32(y);
  XE[1] = 0;
  return fin32(0, mx);
}

function divCore(x: number, y: number, fl: number, mx: number): number {
  const q = x / y;
  const p = q * y;
  const r = x - p - prodErr(q, y, p);
  XE[0] = q;
  XE[1] = r === 0 ? 0 : r > 0 === y > 0 ? 1 : -1;
  return fin32(fl, mx);
}

function divSlow(a: number, b: number, mx: number): number {
  if (isNaN32(a) || isNaN32(b)) return nan2(a, b);
  den = 0;
  const ca = cls(a, mx);
  const cb = cls(b, mx);
  const neg = (a ^ b) >>> 31;
  if (ca === INF) {
    if (cb === INF) return invalid();
    res[0] = (neg << 31) | 0x7f800000;
    return den;
  }
  if (cb === ZERO) {
    if (ca === ZERO) return invalid();
    res[0] = (neg << 31) | 0x7f800000;
    return MX.ZE;
  }
  if (cb === INF || ca === ZERO) {
    zero(SINGLE, neg);
    return den;
  }
  return divCore(f32(a), f32(b), den, mx);
}

/** divss lane: a / b. */
export function div32(a: Uint32Array, ai: number, b: Uint32Array, bi: number, mx: number): number {
  const x = a[ai]!;
  const y = b[bi]!;
  if (special32(x) || special32(y)) return divSlow(x, y, mx);
  return divCore(f32(x), f32(y), 0, mx);
}

function sqrtCore(x: number, fl: number, mx: number): number {
  const r = Math.sqrt(x);
  const p = r * r;
  const d = x - p - prodErr(r, r, p);
  XE[0] = r;
  XE[1] = d === 0 ? 0 : d > 0 ? 1 : -1;
  return fin32(fl, mx);
}

function sqrtSlow(b: number, mx: number): number {
  if (isNaN32(b)) {
    res[0] = b | 0x400000;
    return isSNaN32(b) ? MX.IE : 0;
  }
  den = 0;
  const c = cls(b, mx);
  if (c === ZERO) {
    zero(SINGLE, b >>> 31);
    return 0;
  }
  if (b >>> 31 !== 0) return invalid();
  if (c === INF) {
    res[0] = b;
    return 0;
  }
  return sqrtCore(f32(b), den, mx);
}

/** sqrtss lane: sqrt(b). */
export function sqrt32(b: Uint32Array, bi: number, mx: number): number {
  const x = b[bi]!;
  if (special32(x) || x >>> 31 !== 0) return sqrtSlow(x, mx);
  return sqrtCore(f32(x), 0, mx);
}

/**
 * minss (max = 0) / maxss (max = 1) lane: b unless a is strictly smaller
 * (larger); b for NaNs and zeros. DAZ applies first, so a denormal b comes
 * back as a zero even next to a NaN.
 */
export function minmax32(a: Uint32Array, ai: number, b: Uint32Array, bi: number, max: number, mx: number): number {
  let x = a[ai]!;
  let y = b[bi]!;
  let fl = 0;
  if (isDen32(x)) {
    if ((mx & MX.DAZ) !== 0) x &= 0x80000000;
    else fl = MX.DE;
  }
  if (isDen32(y)) {
    if ((mx & MX.DAZ) !== 0) y &= 0x80000000;
    else fl = MX.DE;
  }
  if (isNaN32(x) || isNaN32(y)) {
    res[0] = y;
    return MX.IE;
  }
  res[0] = (max ? f32(x) > f32(y) : f32(x) < f32(y)) ? x : y;
  return fl;
}
