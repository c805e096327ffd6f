/**
 * The wide multiply and divide (wide.ts, wide-wasm.ts) against BigInt: the
 * 128-bit products, signed and unsigned; 128/64 division on the cases that
 * pick each of its paths (64-bit dividends, already normalized divisors,
 * long division whose estimated quotient digits need correcting), with
 * quotients and remainders at their extremes; the truncated signed
 * product, whose overflow is judged in doubles away from the int64 limits.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../oracle/rng.js';
import { divS, divU, imul64, imul64lo, mul64, QR, W } from './wide.js';

const M64 = (1n << 64n) - 1n;
const lo = (v: bigint): number => Number(v & 0xffffffffn);
const hi = (v: bigint): number => Number((v >> 32n) & 0xffffffffn);
const q64 = (): bigint => (BigInt(QR[1]!) << 32n) | BigInt(QR[0]!);
const r64 = (): bigint => (BigInt(QR[3]!) << 32n) | BigInt(QR[2]!);

/** divU on n (128-bit) and d, checked against BigInt. */
function checkU(n: bigint, d: bigint): void {
  const ok = divU(lo(n), hi(n), lo(n >> 64n), hi(n >> 64n), lo(d), hi(d));
  expect(ok, `${n} / ${d}`).toBe(d !== 0n && n / d <= M64);
  if (ok) {
    expect(q64(), `${n} / ${d}`).toBe(n / d);
    expect(r64(), `${n} % ${d}`).toBe(n % d);
  }
}

describe('128-bit products', () => {
  const w128 = (): bigint => (BigInt(W[3]!) << 96n) | (BigInt(W[2]!) << 64n) | (BigInt(W[1]!) << 32n) | BigInt(W[0]!);
  it('mul64 and imul64 match BigInt on random factors of every width and at the limits', () => {
    const rng = new Rng(0x3a17);
    const edge = [0n, 1n, M64, 1n << 63n, (1n << 63n) - 1n, 0xffffffffn, 1n << 32n, 0xffffffff00000000n];
    const rand = Array.from({ length: 3000 }, () => rng.u64() >> BigInt(rng.below(64)));
    const pairs = [...edge.flatMap((a) => edge.map((b) => [a, b])), ...rand.map((a, k) => [a, rand[(k * 7919 + 1) % rand.length]!])];
    for (const [x, y] of pairs as [bigint, bigint][]) {
      mul64(lo(x), hi(x), lo(y), hi(y));
      expect(w128(), `${x} * ${y}`).toBe(x * y);
      imul64(lo(x), hi(x), lo(y), hi(y));
      expect(BigInt.asIntN(128, w128()), `${x} * ${y} signed`).toBe(BigInt.asIntN(64, x) * BigInt.asIntN(64, y));
    }
  });
});

describe('wide division', () => {
  it('divU: quotient and remainder at the extremes, 64-bit divisors', () => {
    const rng = new Rng(0x5eed1);
    const ds = [1n << 32n, (1n << 32n) + 1n, M64, M64 - 1n, 1n << 63n, (1n << 63n) - 1n, 10000000000000000000n, 0x100000001n, 0xffffffff00000000n];
    for (let k = 0; k < 300; k++) ds.push(((rng.u64() >> BigInt(rng.below(32))) | (1n << 32n)) & M64);
    for (const d of ds) {
      const qs = [0n, 1n, M64, M64 - 1n, 0xffffffffn, 1n << 32n, 0xffffffff00000000n, 0xfffffffffffffffen, rng.u64(), rng.u64() >> 32n];
      for (const q of qs) for (const r of [0n, 1n, d - 1n, d - 2n, d >> 1n, rng.u64() % d]) if (r >= 0n) checkU(q * d + r, d);
    }
  });

  it('divU: random dividends over every divisor width, and overflow', () => {
    const rng = new Rng(0xc0ffee);
    for (let k = 0; k < 5000; k++) {
      const d = rng.u64() >> BigInt(rng.below(64));
      const n = ((rng.u64() >> BigInt(rng.below(64))) << 64n) | rng.u64();
      checkU(n, d);
      if (d !== 0n) checkU(n % (d << 64n), d);
    }
  });

  it('divS: signed quotients of 64-bit divisors', () => {
    const rng = new Rng(0xd1d);
    for (let k = 0; k < 5000; k++) {
      const ds = BigInt.asIntN(64, rng.u64() >> BigInt(rng.below(32)));
      const ns = BigInt.asIntN(64, rng.u64()) * (k % 2 ? BigInt.asIntN(32, BigInt(rng.next())) : 1n);
      const n = BigInt.asUintN(128, ns);
      const ok = divS(lo(n), hi(n), lo(n >> 64n), hi(n >> 64n), lo(BigInt.asUintN(64, ds)), hi(BigInt.asUintN(64, ds)));
      const q = ds === 0n ? 0n : ns / ds;
      expect(ok).toBe(ds !== 0n && q >= -(1n << 63n) && q < 1n << 63n);
      if (ok) {
        expect(BigInt.asIntN(64, q64())).toBe(q);
        expect(BigInt.asIntN(64, r64())).toBe(ns % ds);
      }
    }
  });
});

describe('imul64lo: the signed product truncated to 64 bits, and whether it overflowed', () => {
  const check = (a: bigint, b: bigint): void => {
    const p = BigInt.asIntN(64, a) * BigInt.asIntN(64, b);
    const ua = BigInt.asUintN(64, a);
    const ub = BigInt.asUintN(64, b);
    const ovf = imul64lo(lo(ua), hi(ua), lo(ub), hi(ub));
    const got = (BigInt(W[1]!) << 32n) | BigInt(W[0]!);
    expect(got, `${a} * ${b}`).toBe(BigInt.asUintN(64, p));
    expect(ovf, `${a} * ${b} overflows`).toBe(p >= 1n << 63n || p < -(1n << 63n) ? 1 : 0);
  };

  it('matches BigInt on random factors of every width and signs', () => {
    const rng = new Rng(0x1a11);
    for (let k = 0; k < 20000; k++) check(BigInt.asIntN(64, rng.u64() >> BigInt(rng.below(64))) * (k % 2 ? -1n : 1n), BigInt.asIntN(64, rng.u64() >> BigInt(rng.below(64))));
  });

  it('decides exactly at the int64 limits, where the doubles cannot', () => {
    const rng = new Rng(0x7e57);
    const edges: [bigint, bigint][] = [[1n << 62n, 2n], [(1n << 62n) - 1n, 2n], [-(1n << 62n), 2n], [1n << 31n, 1n << 32n], [-(1n << 31n), 1n << 32n], [3037000499n, 3037000499n], [3037000500n, 3037000500n], [-(1n << 63n), 1n], [-(1n << 63n), -1n], [(1n << 63n) - 1n, -1n], [(1n << 63n) - 1n, 1n]];
    for (const [a, b] of edges) for (const [x, y] of [[a, b], [b, a], [-a, b], [a, -b], [-a, -b]] as const) check(x, y);
    // products within a few units of +-2^63
    for (let k = 0; k < 5000; k++) {
      const b = BigInt(2 + rng.below(1 << 20));
      const a = (1n << 63n) / b + BigInt(rng.below(5)) - 2n;
      check(a, b);
      check(-a, b);
    }
  });
});
