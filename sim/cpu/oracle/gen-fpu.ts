/**
 * Random x87/SSE starting states for oracle cases (gen.ts and the family
 * tests): XMM lanes full of integer and floating-point boundary values, MXCSR with random rounding
 * modes, masks, DAZ/FTZ and sticky flags, x87 control words with random
 * masks, precision and rounding, status words with random TOP and flags,
 * tags, and register contents of every class (zero, normal, unnormal,
 * denormal, infinity, NaN).
 *
 * Never generated: MXCSR bits outside 0xffff (bit 17 is AMD's misaligned
 * mode, which would change what the host does) and non-zero FOP/FIP/FDP
 * (instruction pointers; the control instructions never set them).
 */
import type { OpEntry } from '../optable.js';
import { f32Val, f64Val } from '../sse/case-values.js';
import type { OracleFpu } from './fpu-image.js';
import { Rng } from './rng.js';

type Next = () => number;

const BYTES = [0x00, 0x01, 0x7f, 0x80, 0x81, 0xfe, 0xff] as const;

function big(next: Next, words: number): bigint {
  let v = 0n;
  for (let k = 0; k < words; k++) v = (v << 32n) | BigInt(next() >>> 0);
  return v;
}

/**
 * A 128-bit value: random, or lanes of boundary bytes/words, or a mix, or
 * floating-point lanes (the SSE FP library's boundary values: signed
 * zeros, denormals, infinities, NaNs with payloads, ties, near-limits).
 */
export function randomXmm(next: Next): bigint {
  switch (next() % 6) {
    case 4: {
      const r = new Rng(next() || 1);
      let v = 0n;
      for (let k = 0; k < 4; k++) v = (v << 32n) | BigInt(f32Val(r));
      return v;
    }
    case 5: {
      const r = new Rng(next() || 1);
      const w = new Uint32Array(4);
      f64Val(r, w, 0);
      f64Val(r, w, 2);
      return (BigInt(w[3]!) << 96n) | (BigInt(w[2]!) << 64n) | (BigInt(w[1]!) << 32n) | BigInt(w[0]!);
    }
    case 0: {
      let v = 0n;
      for (let k = 0; k < 16; k++) v = (v << 8n) | BigInt(BYTES[next() % BYTES.length]!);
      return v;
    }
    case 1: {
      let v = 0n;
      for (let k = 0; k < 8; k++) v = (v << 16n) | BigInt([0, 1, 0x7fff, 0x8000, 0xffff, 0x8001, 0x00ff][next() % 7]!);
      return v;
    }
    case 2:
      return big(next, 4) & big(next, 4);
    default:
      return big(next, 4);
  }
}

/** An 80-bit x87 register value of a random class. */
export function randomSt(next: Next): bigint {
  const sign = BigInt(next() & 1) << 79n;
  const mant = big(next, 2);
  switch (next() % 6) {
    case 0: return sign;
    case 1: return sign | (0x7fffn << 64n) | (1n << 63n); // infinity
    case 2: return sign | (0x7fffn << 64n) | mant | (1n << 63n); // NaN
    case 3: return sign | (mant & ~(1n << 63n)); // denormal
    case 4: return sign | (BigInt(1 + (next() % 0x7ffe)) << 64n) | (mant & ~(1n << 63n)); // unnormal
    default: return sign | (BigInt(1 + (next() % 0x7ffe)) << 64n) | mant | (1n << 63n);
  }
}

export function randomMxcsr(next: Next): number {
  const r = next();
  // rounding, masks (mostly all set), DAZ/FTZ, and sometimes sticky flags
  const masks = next() % 3 === 0 ? (r >>> 7) & 0x3f : 0x3f;
  return ((r & 0x6000) | (masks << 7) | (r & 0x8040) | (next() % 4 === 0 ? r & 0x3f : 0)) >>> 0;
}

/** A whole random state, or (one time in eight) the power-on one. */
export function randomFpu(next: Next): OracleFpu {
  if (next() % 8 === 0) return { fcw: 0x37f, fsw: 0, ftw: 0, fop: 0, fip: 0n, fdp: 0n, mxcsr: 0x1f80, st: new Array(8).fill(0n), xmm: new Array(16).fill(0n) };
  const fsw = next() % 2 === 0 ? (next() & 0x3800) : next() & 0xffff;
  return {
    fcw: next() % 2 === 0 ? 0x37f : next() & 0xffff,
    fsw,
    ftw: next() & 0xff,
    fop: 0, fip: 0n, fdp: 0n,
    mxcsr: randomMxcsr(next),
    st: Array.from({ length: 8 }, () => randomSt(next)),
    xmm: Array.from({ length: 16 }, () => randomXmm(next)),
  };
}

/** Entries whose cases carry an x87/SSE state: XMM operands, the x87 escapes and wait, and 0F AE's state, fence and flush forms. */
export function usesFpu(e: OpEntry): boolean {
  if (e.map === 0) return (e.code >= 0xd8 && e.code <= 0xdf) || e.code === 0x9b;
  return /(^|,)[VWU][a-z]/.test(e.ops) || (e.code === 0xae && e.pfx !== 0xf3);
}

/** Bytes a memory operand of `e` spans, when it is more than the operand size (FXSAVE area, x87 environments). */
export function memSpan(e: OpEntry): number {
  if (e.map === 1 && e.code === 0xae && e.ext !== undefined && e.ext < 2) return 512;
  if (e.map === 0 && e.code === 0xdd && (e.ext === 4 || e.ext === 6)) return 108;
  if (e.map === 0 && e.code === 0xd9 && (e.ext === 4 || e.ext === 6)) return 28;
  return 16;
}
