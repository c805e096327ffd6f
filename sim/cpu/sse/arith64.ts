/**
 * binary64 lanes of add/sub/mul/div/min/max/sqrt (addsd, addpd, ...). An
 * operand is the quadword at a[ai] (low word), a[ai+1] (high word); each
 * returns its flags (see mxcsr.ts) and leaves the result in res[0..1].
 *
 * Pre-computation, in priority order per lane (SDM vol. 1 4.9.2, table 4-7;
 * AMD APM vol. 1 table 4-12), each condition hiding the later ones:
 * 1. a NaN operand: IE if either is an SNaN; result the first NaN operand
 *    (a before b), quieted. min/max instead return b unchanged and set IE
 *    for a QNaN too.
 * 2. DAZ turns denormal operands into zeros of the same sign (no DE).
 * 3. an invalid operation (inf-inf, 0*inf, 0/0, inf/inf, sqrt of a
 *    negative non-zero): IE, the default NaN. x/0 for finite non-zero x: ZE.
 * 4. a denormal operand: DE, and the operation proceeds.
 *
 * The fast paths (both operands normal, result well inside the range) get
 * the error term from TwoSum / TwoProduct / the exact remainder; the rest
 * scale to mantissas in [1, 2) and round through roundPack.
 */
import { F64, QNAN64_HI, W64, f64, isDen64, isNaN64, isSNaN64, res, special64 } from './bits.js';
import { MX, RC, rcOf } from './mxcsr.js';
import { DOUBLE, XE, fin64, prodErr, roundPack, setExact, sumErr, zero } from './round.js';

const TWO_M1021 = 2 ** -1021;
const TWO_M968 = 2 ** -968;
const TWO_64 = 2 ** 64;
const TWO_995 = 2 ** 995;
const TWO_1000 = 2 ** 1000;
const TWO_1020 = 2 ** 1020;

/** Result for a NaN operand: the first NaN, quieted; IE if either is signalling. */
function nan2(alo: number, ahi: number, blo: number, bhi: number): number {
  const fl = isSNaN64(alo, ahi) || isSNaN64(blo, bhi) ? MX.IE : 0;
  if (isNaN64(alo, ahi)) {
    res[0] = alo;
    res[1] = ahi | 0x80000;
  } else {
    res[0] = blo;
    res[1] = bhi | 0x80000;
  }
  return fl;
}

function invalid(): number {
  res[0] = 0;
  res[1] = QNAN64_HI;
  return MX.IE;
}

function inf(neg: number): void {
  res[0] = 0;
  res[1] = (neg << 31) | 0x7ff00000;
}

/** Operand classes after DAZ. */
const ZERO = 0;
const FINITE = 1;
const INF = 2;
let den = 0;

/** Class of a non-NaN operand; sets `den` when it is a denormal kept as such. */
function cls(lo: number, hi: number, mx: number): number {
  const ex = hi & 0x7ff00000;
  if (ex === 0x7ff00000) return INF;
  if (ex !== 0) return FINITE;
  if (((hi & 0xfffff) | lo) === 0) return ZERO;
  if ((mx & MX.DAZ) !== 0) return ZERO;
  den = MX.DE;
  return FINITE;
}

/** The value of an operand of class FINITE (denormals included). */
const val = f64;

let fexp = 0;
/** x = m * 2^fexp with |m| in [1, 2); x finite non-zero. (Slow paths only.) */
function frexp(x: number): number {
  F64[0] = x;
  let hi = W64[1]!;
  let adj = 0;
  if ((hi & 0x7ff00000) === 0) {
    F64[0] = x * TWO_64;
    hi = W64[1]!;
    adj = 64;
  }
  fexp = ((hi >>> 20) & 0x7ff) - 1023 - adj;
  W64[1] = (hi & 0x800fffff) | 0x3ff00000;
  return F64[0]!;
}

/** x + y for finite x, y not both zero. */
function addCore(x: number, y: number, fl: number, mx: number): number {
  const s = x + y;
  if (s === 0) {
    zero(DOUBLE, rcOf(mx) === RC.DOWN ? 1 : 0);
    return fl;
  }
  const e = sumErr(x, y, s);
  if (e - e !== 0) {
    // s, or an intermediate of TwoSum, overflowed: both operands are then
    // at least 2^969 in magnitude, so halving them is exact.
    XE[0] = x * 0.5 + y * 0.5;
    XE[1] = sumErr(x * 0.5, y * 0.5, XE[0]!);
    setExact(1);
    return roundPack(DOUBLE, fl, mx);
  }
  XE[0] = s;
  XE[1] = e;
  return fin64(fl, mx);
}

function addSlow(alo: number, ahi: number, blo: number, bhi: number, mx: number): number {
  if (isNaN64(alo, ahi) || isNaN64(blo, bhi)) return nan2(alo, ahi, blo, bhi);
  den = 0;
  const ca = cls(alo, ahi, mx);
  const cb = cls(blo, bhi, mx);
  if (ca === INF || cb === INF) {
    if (ca === INF && cb === INF && (ahi ^ bhi) >>> 31 !== 0) return invalid();
    inf((ca === INF ? ahi : bhi) >>> 31);
    return den;
  }
  if (ca === ZERO && cb === ZERO) {
    zero(DOUBLE, rcOf(mx) === RC.DOWN ? (ahi | bhi) >>> 31 : (ahi & bhi) >>> 31);
    return 0;
  }
  return addCore(ca === ZERO ? 0 : val(alo, ahi), cb === ZERO ? 0 : val(blo, bhi), den, mx);
}

/** a + b, or a - b when neg = 0x80000000 (a NaN b keeps its own sign). */
function addLane(a: Uint32Array, ai: number, b: Uint32Array, bi: number, neg: number, mx: number): number {
  const alo = a[ai]!;
  const ahi = a[ai + 1]!;
  const blo = b[bi]!;
  const bhi = b[bi + 1]!;
  if (special64(ahi) || special64(bhi)) {
    if (neg !== 0 && isNaN64(blo, bhi)) return nan2(alo, ahi, blo, bhi);
    return addSlow(alo, ahi, blo, (bhi ^ neg) >>> 0, mx);
  }
  const x = val(alo, ahi);
  const y = val(blo, (bhi ^ neg) >>> 0);
  const s = x + y;
  if (s === 0) {
    zero(DOUBLE, rcOf(mx) === RC.DOWN ? 1 : 0);
    return 0;
  }
  const e = sumErr(x, y, s);
  if (e - e !== 0) return addCore(x, y, 0, mx);
  XE[0] = s;
  XE[1] = e;
  return fin64(0, mx);
}

/** addsd lane: a + b. */
export function add64(a: Uint32Array, ai: number, b: Uint32Array, bi: number, mx: number): number {
  return addLane(a, ai, b, bi, 0, mx);
}

/** subsd lane: a - b. */
export function sub64(a: Uint32Array, ai: number, b: Uint32Array, bi: number, mx: number): number {
  return addLane(a, ai, b, bi, 0x80000000, mx);
}

/** x * y, finite non-zero (denormals included), outside mul64's fast path. */
function mulScaled(x: number, y: number, fl: number, mx: number): number {
  const ma = frexp(x);
  const ea = fexp;
  const mb = frexp(y);
  const p = ma * mb;
  XE[0] = p;
  XE[1] = prodErr(ma, mb, p);
  setExact(ea + fexp);
  return roundPack(DOUBLE, fl, mx);
}

function mulSlow(alo: number, ahi: number, blo: number, bhi: number, mx: number): number {
  if (isNaN64(alo, ahi) || isNaN64(blo, bhi)) return nan2(alo, ahi, blo, bhi);
  den = 0;
  const ca = cls(alo, ahi, mx);
  const cb = cls(blo, bhi, mx);
  const neg = (ahi ^ bhi) >>> 31;
  if (ca === INF || cb === INF) {
    if (ca === ZERO || cb === ZERO) return invalid();
    inf(neg);
    return den;
  }
  if (ca === ZERO || cb === ZERO) {
    zero(DOUBLE, neg);
    return den;
  }
  return mulScaled(val(alo, ahi), val(blo, bhi), den, mx);
}

/** mulsd lane: a * b. */
export function mul64(a: Uint32Array, ai: number, b: Uint32Array, bi: number, mx: number): number {
  const ahi = a[ai + 1]!;
  const bhi = b[bi + 1]!;
  if (special64(ahi) || special64(bhi)) return mulSlow(a[ai]!, ahi, b[bi]!, bhi, mx);
  const x = val(a[ai]!, ahi);
  const y = val(b[bi]!, bhi);
  const p = x * y;
  const ap = p < 0 ? -p : p;
  // Dekker's product is exact while neither the split nor its error terms under/overflow.
  if (ap >= TWO_M968 && ap < TWO_995 && x < TWO_995 && x > -TWO_995 && y < TWO_995 && y > -TWO_995) {
    XE[0] = p;
    XE[1] = prodErr(x, y, p);
    return fin64(0, mx);
  }
  return mulScaled(x, y, 0, mx);
}

/** Sign of the exact x/y - q, from the remainder x - q*y (exact while q*y neither over- nor underflows). */
function divErr(x: number, y: number, q: number): number {
  const p = q * y;
  const r = x - p - prodErr(q, y, p);
  return r === 0 ? 0 : r > 0 === y > 0 ? 1 : -1;
}

/** x / y, finite non-zero, outside div64's fast path. */
function divScaled(x: number, y: number, fl: number, mx: number): number {
  const ma = frexp(x);
  const ea = fexp;
  const mb = frexp(y);
  const q = ma / mb;
  XE[0] = q;
  XE[1] = divErr(ma, mb, q);
  setExact(ea - fexp);
  return roundPack(DOUBLE, fl, mx);
}

function divSlow(alo: number, ahi: number, blo: number, bhi: number, mx: number): number {
  if (isNaN64(alo, ahi) || isNaN64(blo, bhi)) return nan2(alo, ahi, blo, bhi);
  den = 0;
  const ca = cls(alo, ahi, mx);
  const cb = cls(blo, bhi, mx);
  const neg = (ahi ^ bhi) >>> 31;
  if (ca === INF) {
    if (cb === INF) return invalid();
    inf(neg);
    return den;
  }
  if (cb === ZERO) {
    if (ca === ZERO) return invalid();
    inf(neg);
    return MX.ZE;
  }
  if (cb === INF || ca === ZERO) {
    zero(DOUBLE, neg);
    return den;
  }
  return divScaled(val(alo, ahi), val(blo, bhi), den, mx);
}

/** divsd lane: a / b. */
export function div64(a: Uint32Array, ai: number, b: Uint32Array, bi: number, mx: number): number {
  const ahi = a[ai + 1]!;
  const bhi = b[bi + 1]!;
  if (special64(ahi) || special64(bhi)) return divSlow(a[ai]!, ahi, b[bi]!, bhi, mx);
  const x = val(a[ai]!, ahi);
  const y = val(b[bi]!, bhi);
  const q = x / y;
  const aq = q < 0 ? -q : q;
  const ax = x < 0 ? -x : x;
  const ay = y < 0 ? -y : y;
  if (aq >= TWO_M1021 && aq < TWO_995 && ax >= TWO_M968 && ax < TWO_1020 && ay < TWO_995) {
    XE[0] = q;
    XE[1] = divErr(x, y, q);
    return fin64(0, mx);
  }
  return divScaled(x, y, 0, mx);
}

/** Sign of the exact sqrt(x) - r, from x - r*r. */
function sqrtErr(x: number, r: number): number {
  const p = r * r;
  const d = x - p - prodErr(r, r, p);
  return d === 0 ? 0 : d > 0 ? 1 : -1;
}

/** sqrt(x) for positive finite x far from the middle of the range (denormals included). */
function sqrtScaled(x: number, fl: number, mx: number): number {
  let m = frexp(x);
  let ex = fexp;
  if ((ex & 1) !== 0) {
    m *= 2;
    ex -= 1;
  }
  const r = Math.sqrt(m);
  XE[0] = r;
  XE[1] = sqrtErr(m, r);
  setExact(ex / 2);
  return roundPack(DOUBLE, fl, mx);
}

function sqrtSlow(lo: number, hi: number, mx: number): number {
  if (isNaN64(lo, hi)) {
    res[0] = lo;
    res[1] = hi | 0x80000;
    return isSNaN64(lo, hi) ? MX.IE : 0;
  }
  den = 0;
  const c = cls(lo, hi, mx);
  if (c === ZERO) {
    zero(DOUBLE, hi >>> 31);
    return 0;
  }
  if (hi >>> 31 !== 0) return invalid();
  if (c === INF) {
    inf(0);
    return 0;
  }
  return sqrtScaled(val(lo, hi), den, mx);
}

/** sqrtsd lane: sqrt(b). */
export function sqrt64(b: Uint32Array, bi: number, mx: number): number {
  const hi = b[bi + 1]!;
  if (special64(hi) || hi >>> 31 !== 0) return sqrtSlow(b[bi]!, hi, mx);
  const x = val(b[bi]!, hi);
  if (x >= TWO_M968 && x < TWO_1000) {
    const r = Math.sqrt(x);
    XE[0] = r;
    XE[1] = sqrtErr(x, r);
    return fin64(0, mx);
  }
  return sqrtScaled(x, 0, mx);
}

/** minsd (max = 0) / maxsd (max = 1) lane: as minmax32 (DAZ first, then b for NaNs and zeros). */
export function minmax64(a: Uint32Array, ai: number, b: Uint32Array, bi: number, max: number, mx: number): number {
  let alo = a[ai]!;
  let ahi = a[ai + 1]!;
  let blo = b[bi]!;
  let bhi = b[bi + 1]!;
  let fl = 0;
  if (isDen64(alo, ahi)) {
    if ((mx & MX.DAZ) !== 0) {
      alo = 0;
      ahi &= 0x80000000;
    } else fl = MX.DE;
  }
  if (isDen64(blo, bhi)) {
    if ((mx & MX.DAZ) !== 0) {
      blo = 0;
      bhi &= 0x80000000;
    } else fl = MX.DE;
  }
  if (isNaN64(alo, ahi) || isNaN64(blo, bhi)) {
    res[0] = blo;
    res[1] = bhi;
    return MX.IE;
  }
  const x = val(alo, ahi);
  const y = val(blo, bhi);
  const takeA = max ? x > y : x < y;
  res[0] = takeA ? alo : blo;
  res[1] = takeA ? ahi : bhi;
  return fl;
}
