/**
 * Operand generators for cases.ts: binary32/binary64 values and pairs aimed
 * at the corners of IEEE arithmetic, integers, and near-integers for the
 * conversions (see cases.ts for the mix). Deterministic: all from Rng.
 */
import type { Rng } from '../oracle/rng.js';

// ---- binary32 values ----------------------------------------------------

const F32_FIXED = [
  0, 0x80000000, 1, 0x80000001, 2, 0x007fffff, 0x807fffff, 0x00400000, 0x00400001, 0x00800000, 0x80800000, 0x00800001,
  0x00ffffff, 0x7f7fffff, 0xff7fffff, 0x7f7ffffe, 0x7f000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000,
  0x7f800001, 0xff800001, 0x7fbfffff, 0x7fc00001, 0xffffffff, 0x7fd23456, 0xff912345, 0x3f800000, 0xbf800000,
  0x3f800001, 0x3f7fffff, 0x3f000000, 0x3fc00000, 0x40200000, 0xbfc00000, 0x4b000000, 0x4b000001, 0x4b800000,
  0x4effffff, 0x4f000000, 0xcf000000, 0xcf000001, 0x5effffff, 0x5f000000, 0xdf000000, 0xdf000001, 0x34000000,
  0x33800000, 0x3eaaaaab, 0x40490fdb,
];

function f32Exp(r: Rng): number {
  switch (r.below(8)) {
    case 0:
      return r.pick([0, 0, 1, 2, 0xfd, 0xfe, 0xff, 0x67, 0x68, 0x69]);
    case 1:
    case 2:
      return 0x7f + r.below(17) - 8;
    case 3:
      return 0x9d + r.below(5) - 2; // near 2^31 / 2^32
    case 4:
      return 0xbd + r.below(5) - 2; // near 2^63
    default:
      return r.below(256);
  }
}

/** Mantissa: random, few significant bits, all ones, one bit or zero. */
function mant(r: Rng, bits: number): number {
  const m = r.next() & ((1 << bits) - 1);
  switch (r.below(8)) {
    case 0:
      return 0;
    case 1:
      return (1 << bits) - 1 - r.below(3);
    case 2:
      return 1 << r.below(bits);
    case 3:
    case 4:
      return m & ~((1 << r.below(bits)) - 1) & ((1 << bits) - 1);
    default:
      return m >>> 0;
  }
}

export function f32Val(r: Rng): number {
  const k = r.below(10);
  if (k < 2) return r.pick(F32_FIXED) >>> 0;
  if (k < 4) return r.next();
  return (((r.below(2) << 31) | (f32Exp(r) << 23) | mant(r, 23)) >>> 0);
}

/** b from a: nearby exponent (cancellation, ties, sticky), the same value, or ±ulps. */
function f32Near(r: Rng, a: number): number {
  const sign = r.below(2) << 31;
  switch (r.below(4)) {
    case 0:
      return ((a ^ (r.below(2) << 31)) >>> 0);
    case 1:
      return ((a + r.below(7) - 3) >>> 0);
    default: {
      const e = Math.min(254, Math.max(0, ((a >>> 23) & 0xff) + r.below(61) - 30));
      return ((sign | (e << 23) | mant(r, 23)) >>> 0);
    }
  }
}

/** b such that a*b (mul) or a/b (div) lands near overflow, underflow or the denormal floor. */
function f32Target(r: Rng, a: number, div: boolean): number {
  const ea = ((a >>> 23) & 0xff) - 127;
  const t = r.pick([127, 128, 126, -126, -127, -125, -149, -150, -148, -140, -160]) + r.below(3) - 1;
  const eb = (div ? ea - t : t - ea) + 127;
  const sign = r.below(2) << 31;
  if (eb <= 0) return ((sign | mant(r, 23)) >>> 0);
  if (eb >= 255) return ((sign | (254 << 23) | mant(r, 23)) >>> 0);
  return ((sign | (eb << 23) | mant(r, 23)) >>> 0);
}

export function f32Pair(r: Rng, kind: string): [number, number] {
  const a = f32Val(r);
  const m = r.below(10);
  if (m < 4) return [a, f32Val(r)];
  if ((kind === 'mul' || kind === 'div') && m < 7) return [a, f32Target(r, a, kind === 'div')];
  return [a, f32Near(r, a)];
}

// ---- binary64 values ----------------------------------------------------

const F64_FIXED: Array<[number, number]> = [
  [0, 0], [0, 0x80000000], [1, 0], [1, 0x80000000], [0xffffffff, 0x000fffff], [0, 0x00080000], [0, 0x00100000],
  [0, 0x80100000], [1, 0x00100000], [0xffffffff, 0x7fefffff], [0xffffffff, 0xffefffff], [0, 0x7ff00000],
  [0, 0xfff00000], [0, 0x7ff80000], [0, 0xfff80000], [1, 0x7ff00000], [0xffffffff, 0x7ff7ffff], [0xdeadbeef, 0x7ff81234],
  [0x12345678, 0xfff00001], [0xffffffff, 0xffffffff], [0, 0x3ff00000], [1, 0x3ff00000], [0xffffffff, 0x3fefffff],
  [0, 0xbff00000], [0, 0x3fe00000], [0, 0x3ff80000], [0, 0x40040000], [0, 0x41e00000], [0, 0xc1e00000],
  [0x00200000, 0xc1e00000], [0xffc00000, 0x41dfffff], [0, 0x43e00000], [0, 0xc3e00000], [1, 0xc3e00000],
  [0, 0x43400000], [1, 0x43400000], [0xe0000000, 0x47efffff], [0xf0000000, 0x47efffff], [0, 0x47f00000],
  [0, 0x38100000], [0xf0000000, 0x380fffff], [0, 0x36a00000], [0, 0x36900000], [1, 0x36900000], [0x55555555, 0x3fd55555],
];

function f64Exp(r: Rng): number {
  switch (r.below(10)) {
    case 0:
      return r.pick([0, 0, 1, 2, 0x7fd, 0x7fe, 0x7ff, 0x3cc, 0x3cb, 0x3ca]);
    case 1:
    case 2:
      return 0x3ff + r.below(17) - 8;
    case 3:
      return r.pick([0x380, 0x381, 0x37f, 0x36a, 0x369, 0x368, 0x47e, 0x47f, 0x480]); // binary32 boundaries
    case 4:
      return 0x41d + r.below(5) - 2;
    case 5:
      return 0x43d + r.below(5) - 2;
    default:
      return r.below(2048);
  }
}

export function f64Val(r: Rng, out: Uint32Array, i: number): void {
  const k = r.below(10);
  if (k < 2) {
    const [lo, hi] = r.pick(F64_FIXED);
    out[i] = lo;
    out[i + 1] = hi;
  } else if (k < 4) {
    out[i] = r.next();
    out[i + 1] = r.next();
  } else {
    // few significant bits: clear a random number of low mantissa bits
    const cut = r.below(4) === 0 ? r.below(53) : 0;
    let lo = r.below(6) === 0 ? (r.below(2) ? 0xffffffff : 0) : r.next();
    let hm = mant(r, 20);
    if (cut >= 32) {
      lo = 0;
      hm &= ~((1 << (cut - 32)) - 1);
    } else if (cut > 0) lo &= ~((1 << cut) - 1);
    if (r.below(8) === 0) lo = r.pick([0x10000000, 0x0fffffff, 0x10000001, 0x20000000, 0x30000000]); // binary32 ties
    out[i] = lo >>> 0;
    out[i + 1] = ((r.below(2) << 31) | (f64Exp(r) << 20) | hm) >>> 0;
  }
}

export function f64Pair(r: Rng, kind: string, a: Uint32Array, b: Uint32Array, i: number): void {
  f64Val(r, a, i);
  const m = r.below(10);
  if (m < 4) return f64Val(r, b, i);
  const ahi = a[i + 1]!;
  const ea = ((ahi >>> 20) & 0x7ff) - 1023;
  const sign = r.below(2) << 31;
  let eb: number;
  if ((kind === 'mul' || kind === 'div') && m < 7) {
    const t = r.pick([1023, 1024, 1022, -1022, -1023, -1021, -1074, -1075, -1073, -1060, -1090]) + r.below(3) - 1;
    eb = (kind === 'div' ? ea - t : t - ea) + 1023;
  } else if (m === 7) {
    b[i] = (a[i]! + r.below(7) - 3) >>> 0;
    b[i + 1] = (ahi ^ (r.below(2) << 31)) >>> 0;
    return;
  } else if (m === 8 && (kind === 'add' || kind === 'sub')) {
    // both near the top of the range: overflow, and TwoSum's own intermediates
    a[i + 1] = (a[i + 1]! & 0x800fffff) | ((0x7fc + r.below(3)) << 20);
    if (r.below(2)) {
      b[i] = (0xffffffff - r.below(4)) >>> 0;
      b[i + 1] = (sign | 0x7fefffff) >>> 0;
      return;
    }
    eb = 0x7fc + r.below(3);
  } else eb = ea + 1023 + r.below(121) - 60;
  eb = Math.min(2046, Math.max(0, eb));
  b[i] = r.below(4) === 0 ? 0 : r.next();
  b[i + 1] = (sign | (eb << 20) | mant(r, 20)) >>> 0;
}

// ---- integers and near-integers ------------------------------------------

export function int32(r: Rng): number {
  switch (r.below(6)) {
    case 0:
      return r.pick([0, 1, 0xffffffff, 0x7fffffff, 0x80000000, 0x80000001, 0x01000000, 0x01000001, 0x01000003, 0xfeffffff]);
    case 1: {
      const v = (r.next() >>> r.below(32)) | 1;
      return (r.below(2) ? -v : v) >>> 0;
    }
    case 2:
      return ((1 << r.below(31)) + r.below(5) - 2) >>> 0;
    default:
      return r.next();
  }
}

export function int64(r: Rng, out: Uint32Array, i: number): void {
  switch (r.below(6)) {
    case 5: {
      // a binary32 midpoint in the top 53 bits with more bits below: the
      // binary64 rounding alone would make a false tie
      const top = 54 + r.below(9);
      const m = BigInt((r.next() >>> 8) | 0x800000);
      let v = ((m * 2n + 1n) << BigInt(top - 24)) + BigInt(r.below(2) ? 1 : -1) * BigInt(1 + r.below(1 << (top - 54)));
      if (r.below(2)) v = -v;
      v = BigInt.asUintN(64, v);
      out[i] = Number(v & 0xffffffffn);
      out[i + 1] = Number(v >> 32n);
      return;
    }
    case 0: {
      const [lo, hi] = r.pick([[0, 0], [1, 0], [0xffffffff, 0xffffffff], [0xffffffff, 0x7fffffff], [0, 0x80000000],
        [1, 0x80000000], [0, 0x00200000], [1, 0x00200000], [0xffffffff, 0x001fffff], [0x00000400, 0x80000000], [0xfffffc00, 0x7fffffff]]);
      out[i] = lo!;
      out[i + 1] = hi!;
      return;
    }
    case 1: {
      // few significant bits at a random position: ties for binary32/64
      const sh = r.below(40);
      const v = (r.next() >>> r.below(8)) | 1;
      const big = v * 2 ** sh;
      const hi = Math.floor(big / 2 ** 32);
      out[i] = (big - hi * 2 ** 32) >>> 0;
      out[i + 1] = r.below(2) ? (~hi >>> 0) : hi >>> 0;
      return;
    }
    case 2:
      out[i] = int32(r);
      out[i + 1] = out[i]! >> 31 >>> 0;
      return;
    default:
      out[i] = r.next();
      out[i + 1] = r.next() >>> r.below(32);
      if (r.below(2)) out[i + 1] = ~out[i + 1]! >>> 0;
  }
}

const NF64 = new Float64Array(1);
const NW = new Uint32Array(NF64.buffer);
const NF32 = new Float32Array(1);
const NW32 = new Uint32Array(NF32.buffer);

/** A double near an integer: k + {0, 1/2, 1/4, 3/4, tiny} for k around the integer range limits. */
function nearInt(r: Rng): number {
  const base = r.pick([0, 0, 1, 2, 2 ** 22, 2 ** 23, 2 ** 24, 2 ** 31, 2 ** 32, 2 ** 52, 2 ** 53, 2 ** 62, 2 ** 63, 2 ** 64]);
  const k = base + r.below(9) - 4;
  const frac = r.pick([0, 0.5, 0.25, 0.75, 0.5 - 2 ** -20, 0.5 + 2 ** -20, 1e-300]);
  const v = k + frac;
  return r.below(2) ? -v : v;
}

export function floatForInt32(r: Rng): number {
  if (r.below(3) === 0) return f32Val(r);
  NF32[0] = nearInt(r);
  return NW32[0]!;
}

export function floatForInt64(r: Rng, out: Uint32Array, i: number): void {
  if (r.below(3) === 0) return f64Val(r, out, i);
  NF64[0] = nearInt(r);
  out[i] = NW[0]!;
  out[i + 1] = NW[1]!;
}
