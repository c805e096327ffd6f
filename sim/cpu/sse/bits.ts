/**
 * Bit-level views and classification of binary32 / binary64 values.
 *
 * Values travel as their encodings (binary32: one uint32; binary64: lo, hi
 * uint32 words). A NaN is never turned into a JS number: NaN payloads and
 * signalling bits are handled on the encodings only. `res` is the scratch
 * output shared by all operations (result bits, or an integer as lo/hi).
 */

/** Result of the last operation: res[0] = binary32 / low word, res[1] = high word. */
export const res = new Uint32Array(2);

const F64 = new Float64Array(1);
const W64 = new Uint32Array(F64.buffer);
const F32 = new Float32Array(1);
const W32 = new Uint32Array(F32.buffer);

/** 2^(e - 1075) for each biased exponent e: the weight of a significand's last bit. */
const ULP = new Float64Array(2048);
for (let e = 0; e < 2048; e++) ULP[e] = 2 ** (e - 1075);
const TWO_52 = 2 ** 52;
const TWO_M1074 = 2 ** -1074;

/**
 * The number encoded by binary64 (lo, hi); never call it on a NaN. Built
 * arithmetically (exact): going through the aliased views costs a
 * store-forwarding stall, two 32-bit stores read back as one 64-bit load.
 */
export function f64(lo: number, hi: number): number {
  const e = (hi >>> 20) & 0x7ff;
  const m = (hi & 0xfffff) * 4294967296 + (lo >>> 0);
  const v = e === 0 ? m * TWO_M1074 : (m + TWO_52) * ULP[e]!;
  return hi >>> 31 === 0 ? v : -v;
}

/** The number encoded by binary32 `b`; never call it on a NaN. */
export function f32(b: number): number {
  W32[0] = b;
  return F32[0]!;
}

/** binary32 encoding of `x`, which must be exactly representable. */
export function bits32(x: number): number {
  F32[0] = x;
  return W32[0]!;
}

/** Stores the binary64 encoding of `x` in res. */
export function put64(x: number): void {
  F64[0] = x;
  res[0] = W64[0]!;
  res[1] = W64[1]!;
}

/** Scratch binary64 view for this folder's own bit twiddling (F64[0] aliases W64[0..1]). */
export { F64, W64 };

// binary32 classes (b = encoding)
export const isNaN32 = (b: number): boolean => (b & 0x7fffffff) > 0x7f800000;
export const isSNaN32 = (b: number): boolean => (b & 0x7fc00000) === 0x7f800000 && (b & 0x3fffff) !== 0;
export const isDen32 = (b: number): boolean => (b & 0x7f800000) === 0 && (b & 0x7fffff) !== 0;
/** Exponent field 0 or all ones: zero, denormal, infinity or NaN. */
export const special32 = (b: number): boolean => ((b & 0x7f800000) - 0x00800000) >>> 0 >= 0x7f000000;

// binary64 classes (hi, lo = encoding words)
export const isNaN64 = (lo: number, hi: number): boolean => (hi & 0x7fffffff) > 0x7ff00000 || ((hi & 0x7fffffff) === 0x7ff00000 && lo !== 0);
export const isSNaN64 = (lo: number, hi: number): boolean => isNaN64(lo, hi) && (hi & 0x80000) === 0;
export const isDen64 = (lo: number, hi: number): boolean => (hi & 0x7ff00000) === 0 && ((hi & 0xfffff) | lo) !== 0;
/** Exponent field 0 or all ones. */
export const special64 = (hi: number): boolean => ((hi & 0x7ff00000) - 0x00100000) >>> 0 >= 0x7fe00000;

/** QNaN floating-point indefinite (the default NaN). */
export const QNAN32 = 0xffc00000;
export const QNAN64_HI = 0xfff80000;
