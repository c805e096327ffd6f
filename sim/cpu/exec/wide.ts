/**
 * 64- and 128-bit multiply and divide on uint32 words, without BigInt and
 * without allocation: results go to the scratch arrays W and QR (read them
 * right after the call).
 *
 * Products come from 16-bit partial products, each exact in a double.
 * Division uses doubles when dividend and divisor are below 2^52 (then the
 * floor of the rounded quotient is exact), 16-bit-digit long division for
 * 32-bit divisors, and otherwise long division in base 2^32 whose quotient
 * words are estimated in doubles and corrected exactly.
 */

const TWO32 = 4294967296;
const TWO64 = 18446744073709551616;
/** Below 2^53 a double holds an integer exactly. */
const EXACT = 9007199254740992;

// ---- wide multiply ---------------------------------------------------------------

/** Product words, least significant first; also the dividend inside divU/divS. A typed array keeps the stores unboxed. */
export const W = new Uint32Array(4);

/** Unsigned 32x32 -> 64 into (W[0], W[1]). */
export function mul32(a: number, b: number): void {
  const al = a & 0xffff;
  const ah = a >>> 16;
  const bl = b & 0xffff;
  const bh = b >>> 16;
  // a*b = ah*bh*2^32 + x*2^16 + (al*bl mod 2^16), x < 2^34
  const x = ah * bl + al * bh + ((al * bl) >>> 16);
  W[0] = Math.imul(a, b);
  W[1] = ah * bh + ((x / 65536) | 0);
}

/** Signed 32x32 -> 64 into (W[0], W[1]). */
export function imul32(a: number, b: number): void {
  const p = (a | 0) * (b | 0);
  if (p < EXACT && p > -EXACT) {
    W[0] = p;
    W[1] = Math.floor(p / TWO32);
    return;
  }
  mul32(a >>> 0, b >>> 0);
  W[1] = W[1]! - (a >>> 31 ? b : 0) - (b >>> 31 ? a : 0);
}

/** Unsigned 64x64 -> 128 into W[0]..W[3]. */
export function mul64(aL: number, aH: number, bL: number, bH: number): void {
  mul32(aH, bL);
  const x0 = W[0]!;
  const x1 = W[1]!;
  mul32(aL, bH);
  const y0 = W[0]!;
  const y1 = W[1]!;
  mul32(aH, bH);
  const z0 = W[0]!;
  const z1 = W[1]!;
  mul32(aL, bL);
  const s1 = W[1]! + x0 + y0;
  W[1] = s1;
  const s2 = x1 + y1 + z0 + Math.floor(s1 / TWO32);
  W[2] = s2;
  W[3] = z1 + Math.floor(s2 / TWO32);
}

/** Signed 64x64 -> 128 into W[0]..W[3]: the unsigned product with the high half corrected for negative factors. */
export function imul64(aL: number, aH: number, bL: number, bH: number): void {
  mul64(aL, aH, bL, bH);
  if (aH >>> 31) sub64hi(bL, bH);
  if (bH >>> 31) sub64hi(aL, aH);
}
/** 2^62 and 2^64: below the first a product fits in int64, from the second on it cannot. */
const FITS = 4611686018427387904;
const NEVER = 18446744073709551616;

/**
 * Signed 64x64 product truncated to 64 bits, into (W[0], W[1]) (imul with
 * two or three operands); returns 1 when the whole product does not fit in
 * 64 bits (CF = OF), else 0. The product's magnitude in doubles is within a
 * factor 1 +- 2^-50 of the true one, which settles the overflow except
 * between 2^62 and 2^64, where the exact product decides.
 */
export function imul64lo(aL: number, aH: number, bL: number, bH: number): number {
  const p = Math.abs(((aH | 0) * TWO32 + aL) * ((bH | 0) * TWO32 + bL));
  if (p >= FITS && p < NEVER) {
    imul64(aL, aH, bL, bH);
    const s = W[1]! >>> 31 ? 0xffffffff : 0;
    return W[2] !== s || W[3] !== s ? 1 : 0;
  }
  mul32(aL, bL);
  // the cross products' low words carry into the high word (the store wraps to 32 bits)
  W[1] = W[1]! + Math.imul(aL, bH) + Math.imul(aH, bL);
  return p < FITS ? 0 : 1;
}

function sub64hi(lo: number, hi: number): void {
  const d = W[2]! - lo;
  W[2] = d;
  W[3] = W[3]! - hi - (d < 0 ? 1 : 0);
}

// ---- wide divide -------------------------------------------------------------------

/** Quotient (lo, hi) and remainder (lo, hi) of the last divU/divS; div32 leaves its remainder in QR[2]. */
export const QR = new Uint32Array(4);

/** (r * 2^32 + word) / d for r < d < 2^32, by 16-bit digits (every step exact in doubles); remainder in QR[2]. */
export function div32(r: number, word: number, d: number): number {
  let x = r * 65536 + (word >>> 16);
  const qa = Math.floor(x / d);
  x = (x - qa * d) * 65536 + (word & 0xffff);
  const qb = Math.floor(x / d);
  QR[2] = x - qb * d;
  return qa * 65536 + qb;
}

/**
 * Unsigned (n3:n2:n1:n0) / (dH:dL) into QR. False (#DE) when
 * d is 0 or the quotient does not fit in 64 bits.
 */
export function divU(n0: number, n1: number, n2: number, n3: number, dL: number, dH: number): boolean {
  if ((dL | dH) === 0 || !lt64(n2, n3, dL, dH)) return false;
  W[0] = n0;
  W[1] = n1;
  W[2] = n2;
  W[3] = n3;
  divW(dL, dH);
  return true;
}

/**
 * Signed (n3:n2:n1:n0) / (dH:dL), truncating, remainder with the dividend's
 * sign. False (#DE) when d is 0 or the quotient does not fit in 64 bits.
 */
export function divS(n0: number, n1: number, n2: number, n3: number, dL: number, dH: number): boolean {
  if ((dL | dH) === 0) return false;
  const negN = n3 >>> 31;
  const negD = dH >>> 31;
  W[0] = n0;
  W[1] = n1;
  W[2] = n2;
  W[3] = n3;
  if (negN) negW();
  if (negD) {
    dL = (~dL + 1) >>> 0;
    dH = (~dH + (dL === 0 ? 1 : 0)) >>> 0;
  }
  if (!lt64(W[2]!, W[3]!, dL, dH)) return false;
  divW(dL, dH);
  // |q| may be 2^63 only when the quotient is negative
  if (QR[1]! >>> 31 && !(negN !== negD && QR[1]! === 0x80000000 && QR[0]! === 0)) return false;
  if (negN !== negD) {
    QR[0] = ~QR[0]! + 1;
    QR[1] = ~QR[1]! + (QR[0]! === 0 ? 1 : 0);
  }
  if (negN) {
    QR[2] = ~QR[2]! + 1;
    QR[3] = ~QR[3]! + (QR[2]! === 0 ? 1 : 0);
  }
  return true;
}

/** Unsigned (W[3]:W[2]:W[1]:W[0]) / (dH:dL), given d != 0 and (W[3]:W[2]) < d. */
function divW(dL: number, dH: number): void {
  if ((W[3]! | W[2]!) === 0 && W[1]! < 0x100000 && dH < 0x100000) {
    // both below 2^52: floor of the rounded double quotient is exact
    const n = W[1]! * TWO32 + W[0]!;
    const d = dH * TWO32 + dL;
    const q = Math.floor(n / d);
    const r = n - q * d;
    QR[0] = q;
    QR[1] = Math.floor(q / TWO32);
    QR[2] = r;
    QR[3] = Math.floor(r / TWO32);
  } else if (dH === 0) {
    QR[1] = div32(W[2]!, W[1]!, dL);
    QR[0] = div32(QR[2]!, W[0]!, dL);
    QR[3] = 0;
  } else divLong(dL, dH);
}

/** The remainder of the last divStep, low word first. */
const R = new Float64Array(2);

/**
 * Unsigned (W[3]:W[2]:W[1]:W[0]) / (dH:dL) for dH != 0: long division in
 * base 2^32, one quotient word per step (divStep).
 */
function divLong(dL: number, dH: number): void {
  const w0 = W[0]!;
  const qh = divStep(W[3]!, W[2]!, W[1]!, dL, dH);
  const ql = divStep(R[1]!, R[0]!, w0, dL, dH);
  QR[0] = ql;
  QR[1] = qh;
  QR[2] = R[0]!;
  QR[3] = R[1]!;
}

/**
 * (n2:n1:n0) / (dH:dL), given (n2:n1) < d and dH != 0, so the quotient
 * fits in 32 bits; remainder into R. The quotient is estimated in doubles
 * (relative error near 2^-51 on a quotient below 2^32, so within one of
 * the true one), then corrected against the exact remainder N - q*d,
 * computed in 32-bit words (clobbers W[0], W[1]).
 */
function divStep(n2: number, n1: number, n0: number, dL: number, dH: number): number {
  let q = Math.floor((n2 * TWO64 + n1 * TWO32 + n0) / (dH * TWO32 + dL));
  if (q > 0xffffffff) q = 0xffffffff;
  mul32(q, dL);
  const p0 = W[0]!;
  const s = W[1]!;
  mul32(q, dH);
  const t = s + W[0]!;
  const cy = t >= TWO32 ? 1 : 0;
  const p1 = t - cy * TWO32;
  const p2 = W[1]! + cy;
  // r = N - q*d in words r2:r1:r0 (r2 signed and small)
  let r0 = n0 - p0;
  let bw = r0 < 0 ? 1 : 0;
  r0 += bw * TWO32;
  let r1 = n1 - p1 - bw;
  bw = r1 < 0 ? 1 : 0;
  r1 += bw * TWO32;
  let r2 = n2 - p2 - bw;
  while (r2 < 0) {
    // q too large: r += d
    q--;
    r0 += dL;
    let c = r0 >= TWO32 ? 1 : 0;
    r0 -= c * TWO32;
    r1 += dH + c;
    c = r1 >= TWO32 ? 1 : 0;
    r1 -= c * TWO32;
    r2 += c;
  }
  while (r2 > 0 || r1 > dH || (r1 === dH && r0 >= dL)) {
    // q too small: r -= d
    q++;
    r0 -= dL;
    let b = r0 < 0 ? 1 : 0;
    r0 += b * TWO32;
    r1 -= dH + b;
    b = r1 < 0 ? 1 : 0;
    r1 += b * TWO32;
    r2 -= b;
  }
  R[0] = r0;
  R[1] = r1;
  return q;
}

/** Two's-complement negation of W[3]:W[2]:W[1]:W[0]. */
function negW(): void {
  W[0] = ~W[0]! + 1;
  let cy = W[0]! === 0 ? 1 : 0;
  W[1] = ~W[1]! + cy;
  cy = cy && W[1]! === 0 ? 1 : 0;
  W[2] = ~W[2]! + cy;
  cy = cy && W[2]! === 0 ? 1 : 0;
  W[3] = ~W[3]! + cy;
}

/** Unsigned 64-bit a < b. */
const lt64 = (aL: number, aH: number, bL: number, bH: number): boolean => aH < bH || (aH === bH && aL < bL);
