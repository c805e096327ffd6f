/**
 * 64- and 128-bit multiply and divide on uint32 words, without BigInt and
 * without allocation: results go to the scratch arrays W and QR (read them
 * right after the call).
 *
 * The 128-bit product and quotient come from WebAssembly's i64 arithmetic
 * (wide-wasm.ts). The 32-bit forms stay in JS: their products come from
 * 16-bit partial products, each exact in a double, and 32-bit divisors
 * divide by 16-bit digits.
 */
import { WIDE } from './wide-wasm.js';

const TWO32 = 4294967296;
/** Below 2^53 a double holds an integer exactly. */
const EXACT = 9007199254740992;

// ---- wide multiply ---------------------------------------------------------------

/** Product words, least significant first. A typed array keeps the stores unboxed. */
export const W = new Uint32Array(WIDE.m.buffer, 0, 4);

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
export const mul64: (aL: number, aH: number, bL: number, bH: number) => void = WIDE.mul64;

/** Signed 64x64 -> 128 into W[0]..W[3]. */
export const imul64: (aL: number, aH: number, bL: number, bH: number) => void = WIDE.imul64;

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

// ---- wide divide -------------------------------------------------------------------

/** Quotient (lo, hi) and remainder (lo, hi) of the last divU/divS; div32 leaves its remainder in QR[2]. */
export const QR = new Uint32Array(WIDE.m.buffer, 16, 4);

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
  return WIDE.divU(n0, n1, n2, n3, dL, dH) !== 0;
}

/**
 * Signed (n3:n2:n1:n0) / (dH:dL), truncating, remainder with the dividend's
 * sign. False (#DE) when d is 0 or the quotient does not fit in 64 bits.
 */
export function divS(n0: number, n1: number, n2: number, n3: number, dL: number, dH: number): boolean {
  if ((dL | dH) === 0) return false;
  const negN = n3 >>> 31;
  const negD = dH >>> 31;
  if (negN) {
    n0 = (~n0 + 1) >>> 0;
    let cy = n0 === 0 ? 1 : 0;
    n1 = (~n1 + cy) >>> 0;
    cy = cy && n1 === 0 ? 1 : 0;
    n2 = (~n2 + cy) >>> 0;
    cy = cy && n2 === 0 ? 1 : 0;
    n3 = (~n3 + cy) >>> 0;
  }
  if (negD) {
    dL = (~dL + 1) >>> 0;
    dH = (~dH + (dL === 0 ? 1 : 0)) >>> 0;
  }
  if (WIDE.divU(n0, n1, n2, n3, dL, dH) === 0) return false;
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
